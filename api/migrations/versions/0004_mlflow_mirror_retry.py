"""Registry: per-version retry of the MLflow mirror, and why MLflow did not take a version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("mlflow_error", sa.Text(), nullable=True))
    op.add_column(
        "model_versions",
        sa.Column("mlflow_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "model_versions",
        sa.Column("mlflow_next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("model_versions", "mlflow_next_attempt_at")
    op.drop_column("model_versions", "mlflow_attempts")
    op.drop_column("model_versions", "mlflow_error")
