"""Queries on projects, always scoped by organization. Never commits (the request does)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.db import fetch_page
from modelplane_api.projects.models import Project


async def get(
    session: AsyncSession, organization_id: uuid.UUID, project_id: uuid.UUID
) -> Project | None:
    """A live project of one organization."""
    return await session.scalar(
        select(Project).where(
            Project.id == project_id,
            Project.organization_id == organization_id,
            Project.deleted_at.is_(None),
        )
    )


async def name_taken(
    session: AsyncSession, organization_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> bool:
    """Whether a live project of the organization already has this name."""
    query = select(Project.id).where(
        Project.organization_id == organization_id,
        Project.name == name,
        Project.deleted_at.is_(None),
    )
    if exclude is not None:
        query = query.where(Project.id != exclude)
    return await session.scalar(query) is not None


async def list_page(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
    order: Sequence[Any],
    name: str | None,
) -> tuple[list[Project], int]:
    """One page of an organization's live projects and the total."""
    where = [Project.organization_id == organization_id, Project.deleted_at.is_(None)]
    if name is not None:
        where.append(Project.name == name)
    query = select(Project).where(*where).order_by(*order)
    rows, total = await fetch_page(session, query, offset=offset, limit=limit)
    return [row[0] for row in rows], total
