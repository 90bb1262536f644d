"""API keys: a scope, `full` (everything the key's role allows) or `inference` (only calling
deployments and sending their ground truth).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("scope", sa.String(length=20), server_default="full", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("api_keys", "scope")
