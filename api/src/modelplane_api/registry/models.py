"""Registered models and their versions. A version row is the facade's record of an artifact it
stored and the ModelVersion it applied; whether that version verified is read from the cluster."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from modelplane_api.db import Base, CreatedByMixin, IdMixin, SoftDeleteMixin, TimestampMixin


class RegisteredModel(IdMixin, TimestampMixin, CreatedByMixin, SoftDeleteMixin, Base):
    __tablename__ = "models"
    __table_args__ = (
        Index(
            "uq_models_org_name_live",
            "organization_id",
            "name",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_models_organization_id_created_at", "organization_id", "created_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    description: Mapped[str] = mapped_column(String(2000), nullable=False, server_default="")
    task_type: Mapped[str] = mapped_column(String(32), nullable=False)
    tags: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    next_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    """The number the next version gets; incremented under the row's lock (no two the same)."""


class RegisteredVersion(IdMixin, TimestampMixin, CreatedByMixin, Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
        Index("ix_model_versions_organization_id_model_id", "organization_id", "model_id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )
    model_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("models.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    resource_name: Mapped[str] = mapped_column(String(63), nullable=False)
    """The ModelVersion's name in the org namespace: `<model>-v<version>`."""
    description: Mapped[str] = mapped_column(String(2000), nullable=False, server_default="")
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    """`upload` or `mlflow_run`."""
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    artifact_uri: Mapped[str] = mapped_column(String(2048), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    mlflow_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The version's number in the org's MLflow Model Registry; null until it is mirrored."""
    mlflow_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Why MLflow did not take the version at the last attempt (null once mirrored)."""
    mlflow_attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    mlflow_next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    """When the mirror tries this version again (null: at its next pass)."""
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    """The ModelVersion spec the facade applied: the database's intent, re-applied when the
    cluster lost or changed it."""
