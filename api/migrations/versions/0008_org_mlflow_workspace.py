"""Organizations: their MLflow workspace, created with the organization and retried until MLflow
takes it (like a version's mirror, 0004). Existing organizations start pending, so the next
reconciliation pass creates their workspaces (an existing one is fine).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations",
        sa.Column("mlflow_workspace_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("organizations", sa.Column("mlflow_error", sa.Text(), nullable=True))
    op.add_column(
        "organizations",
        sa.Column("mlflow_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "organizations",
        sa.Column("mlflow_next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("organizations", "mlflow_next_attempt_at")
    op.drop_column("organizations", "mlflow_attempts")
    op.drop_column("organizations", "mlflow_error")
    op.drop_column("organizations", "mlflow_workspace_at")
