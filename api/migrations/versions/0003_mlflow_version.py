"""Registry: each version's number in the organization's MLflow Model Registry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 03:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "model_versions", sa.Column("mlflow_version", sa.String(length=32), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("model_versions", "mlflow_version")
