"""The history of rollouts. The ModelDeployment in the cluster says what serves now; this table
says what served when, who changed it and why — the cluster keeps only the last rollback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from modelplane_api.db import Base, CreatedByMixin, IdMixin, TimestampMixin


class Rollout(IdMixin, TimestampMixin, CreatedByMixin, Base):
    __tablename__ = "deployment_rollouts"
    __table_args__ = (
        Index(
            "ix_deployment_rollouts_org_deployment_created_at",
            "organization_id",
            "deployment",
            "created_at",
        ),
        Index(
            "uq_deployment_rollouts_one_open",
            "organization_id",
            "deployment",
            unique=True,
            postgresql_where=text("outcome = 'in_progress'"),
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    deployment: Mapped[str] = mapped_column(String(63), nullable=False)
    from_version: Mapped[str] = mapped_column(String(253), nullable=False)
    to_version: Mapped[str] = mapped_column(String(253), nullable=False)
    strategy: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    """`in_progress`, `promoted`, `rolled_back` or `superseded`; one open per deployment."""
    reason: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    ended_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
