"""Queries on models and versions, always scoped by organization. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.db import fetch_page
from modelplane_api.organizations.models import Organization
from modelplane_api.registry.models import RegisteredModel, RegisteredVersion


async def get_model(
    session: AsyncSession, organization_id: uuid.UUID, model_id: uuid.UUID
) -> RegisteredModel | None:
    """A live model of one organization."""
    return await session.scalar(
        select(RegisteredModel).where(
            RegisteredModel.id == model_id,
            RegisteredModel.organization_id == organization_id,
            RegisteredModel.deleted_at.is_(None),
        )
    )


async def name_taken(session: AsyncSession, organization_id: uuid.UUID, name: str) -> bool:
    """Whether a live model of the organization already has this name."""
    found = await session.scalar(
        select(RegisteredModel.id).where(
            RegisteredModel.organization_id == organization_id,
            RegisteredModel.name == name,
            RegisteredModel.deleted_at.is_(None),
        )
    )
    return found is not None


async def name_ever_used(session: AsyncSession, organization_id: uuid.UUID, name: str) -> bool:
    """Whether any model of the organization, deleted ones included, had this name: its
    ModelVersions' names (`<name>-v<n>`) must never be reused for other bytes."""
    found = await session.scalar(
        select(RegisteredModel.id).where(
            RegisteredModel.organization_id == organization_id, RegisteredModel.name == name
        )
    )
    return found is not None


async def list_models(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
    order: Sequence[Any],
    name: str | None,
    project_id: uuid.UUID | None,
) -> tuple[list[RegisteredModel], int]:
    """One page of an organization's live models and the total."""
    where = [
        RegisteredModel.organization_id == organization_id,
        RegisteredModel.deleted_at.is_(None),
    ]
    if name is not None:
        where.append(RegisteredModel.name == name)
    if project_id is not None:
        where.append(RegisteredModel.project_id == project_id)
    query = select(RegisteredModel).where(*where).order_by(*order)
    rows, total = await fetch_page(session, query, offset=offset, limit=limit)
    return [row[0] for row in rows], total


async def allocate_version(
    session: AsyncSession, organization_id: uuid.UUID, model_id: uuid.UUID
) -> int | None:
    """The model's next version number. The UPDATE locks the model's row until the request's
    transaction ends, so concurrent uploads get consecutive numbers, never the same one."""
    allocated = await session.scalar(
        update(RegisteredModel)
        .where(
            RegisteredModel.id == model_id,
            RegisteredModel.organization_id == organization_id,
            RegisteredModel.deleted_at.is_(None),
        )
        .values(next_version=RegisteredModel.next_version + 1)
        .returning(RegisteredModel.next_version - 1)
    )
    return int(allocated) if allocated is not None else None


async def get_version(
    session: AsyncSession, organization_id: uuid.UUID, model_id: uuid.UUID, version_id: uuid.UUID
) -> RegisteredVersion | None:
    """One version of a live model of the organization."""
    return await session.scalar(
        select(RegisteredVersion)
        .join(RegisteredModel, RegisteredModel.id == RegisteredVersion.model_id)
        .where(
            RegisteredVersion.id == version_id,
            RegisteredVersion.model_id == model_id,
            RegisteredVersion.organization_id == organization_id,
            RegisteredModel.deleted_at.is_(None),
        )
    )


async def find_version(
    session: AsyncSession, organization_id: uuid.UUID, version_id: uuid.UUID
) -> tuple[RegisteredModel, RegisteredVersion] | None:
    """A version of any live model of the organization, with its model."""
    found = (
        await session.execute(
            select(RegisteredModel, RegisteredVersion)
            .join(RegisteredModel, RegisteredModel.id == RegisteredVersion.model_id)
            .where(
                RegisteredVersion.id == version_id,
                RegisteredVersion.organization_id == organization_id,
                RegisteredModel.deleted_at.is_(None),
            )
        )
    ).first()
    return (found[0], found[1]) if found is not None else None


async def find_version_by_resource(
    session: AsyncSession, organization_id: uuid.UUID, resource_name: str
) -> RegisteredVersion | None:
    """The version of a live model of the organization applied as ModelVersion `resource_name`."""
    found = await session.execute(
        select(RegisteredVersion)
        .join(RegisteredModel, RegisteredModel.id == RegisteredVersion.model_id)
        .where(
            RegisteredVersion.resource_name == resource_name,
            RegisteredVersion.organization_id == organization_id,
            RegisteredModel.deleted_at.is_(None),
        )
    )
    return found.scalars().first()


async def list_versions(
    session: AsyncSession,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
    order: Sequence[Any],
) -> tuple[list[RegisteredVersion], int]:
    """One page of a model's versions and the total."""
    query = (
        select(RegisteredVersion)
        .where(
            RegisteredVersion.organization_id == organization_id,
            RegisteredVersion.model_id == model_id,
        )
        .order_by(*order)
    )
    rows, total = await fetch_page(session, query, offset=offset, limit=limit)
    return [row[0] for row in rows], total


async def all_versions(
    session: AsyncSession, organization_id: uuid.UUID, model_id: uuid.UUID
) -> list[RegisteredVersion]:
    """Every version of a model."""
    rows = await session.scalars(
        select(RegisteredVersion).where(
            RegisteredVersion.organization_id == organization_id,
            RegisteredVersion.model_id == model_id,
        )
    )
    return list(rows)


async def live_versions(session: AsyncSession) -> list[tuple[RegisteredVersion, str]]:
    """Every version of every live model, with its organization's slug (the reconciliation)."""
    rows = await session.execute(
        select(RegisteredVersion, Organization.slug)
        .join(RegisteredModel, RegisteredModel.id == RegisteredVersion.model_id)
        .join(Organization, Organization.id == RegisteredVersion.organization_id)
        .where(RegisteredModel.deleted_at.is_(None), Organization.deleted_at.is_(None))
    )
    return [(version, slug) for version, slug in rows.all()]


async def existing_version_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` name a version row (of any model, deleted or not)."""
    if not ids:
        return set()
    rows = await session.scalars(select(RegisteredVersion.id).where(RegisteredVersion.id.in_(ids)))
    return set(rows)


async def latest_versions(
    session: AsyncSession, model_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The highest version number of each model that has one."""
    if not model_ids:
        return {}
    rows = await session.execute(
        select(RegisteredVersion.model_id, func.max(RegisteredVersion.version))
        .where(RegisteredVersion.model_id.in_(model_ids))
        .group_by(RegisteredVersion.model_id)
    )
    return {model_id: int(v) for model_id, v in rows.all()}


async def unmirrored_versions(
    session: AsyncSession, now: datetime, limit: int = 100
) -> list[tuple[RegisteredVersion, str, str]]:
    """Versions of live models not yet in MLflow whose next attempt is due, the longest
    waiting first, with the org slug and model name; row-locked (SKIP LOCKED) so two facades
    never mirror one version twice."""
    rows = await session.execute(
        select(RegisteredVersion, Organization.slug, RegisteredModel.name)
        .join(RegisteredModel, RegisteredModel.id == RegisteredVersion.model_id)
        .join(Organization, Organization.id == RegisteredVersion.organization_id)
        .where(
            RegisteredVersion.mlflow_version.is_(None),
            or_(
                RegisteredVersion.mlflow_next_attempt_at.is_(None),
                RegisteredVersion.mlflow_next_attempt_at <= now,
            ),
            RegisteredModel.deleted_at.is_(None),
            Organization.deleted_at.is_(None),
        )
        .order_by(
            RegisteredVersion.mlflow_next_attempt_at.nulls_first(), RegisteredVersion.created_at
        )
        .limit(limit)
        .with_for_update(of=RegisteredVersion, skip_locked=True)
    )
    return [(version, slug, name) for version, slug, name in rows.all()]
