"""One pending server-side apply: the object the database says should exist in the cluster."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from modelplane_api.db import Base, IdMixin


class OutboxEntry(IdMixin, Base):
    __tablename__ = "cluster_outbox"
    __table_args__ = (
        Index("ix_cluster_outbox_next_attempt_at", "next_attempt_at"),
        Index("uq_cluster_outbox_object", "plural", "namespace", "name", unique=True),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    plural: Mapped[str] = mapped_column(String(63), nullable=False)
    namespace: Mapped[str] = mapped_column(String(63), nullable=False)
    name: Mapped[str] = mapped_column(String(253), nullable=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    caller: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    """Whom to apply it as (`ClusterCaller.to_wire`): the person who asked; None: the facade."""
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
