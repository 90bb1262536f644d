"""Deployments: the history of rollouts (who, when, from and to which version, how it ended).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployment_rollouts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("deployment", sa.String(length=63), nullable=False),
        sa.Column("from_version", sa.String(length=253), nullable=False),
        sa.Column("to_version", sa.String(length=253), nullable=False),
        sa.Column("strategy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("ended_by", sa.Uuid(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_deployment_rollouts_org_deployment_created_at",
        "deployment_rollouts",
        ["organization_id", "deployment", "created_at"],
    )
    op.create_index(
        "uq_deployment_rollouts_one_open",
        "deployment_rollouts",
        ["organization_id", "deployment"],
        unique=True,
        postgresql_where=sa.text("outcome = 'in_progress'"),
    )


def downgrade() -> None:
    op.drop_index("uq_deployment_rollouts_one_open", table_name="deployment_rollouts")
    op.drop_index(
        "ix_deployment_rollouts_org_deployment_created_at", table_name="deployment_rollouts"
    )
    op.drop_table("deployment_rollouts")
