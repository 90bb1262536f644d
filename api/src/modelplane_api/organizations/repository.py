"""Queries on organizations and memberships. Never commits (the request does)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.auth.models import User
from modelplane_api.db import fetch_page
from modelplane_api.organizations.models import Membership, Organization


def _live_membership(statement: Any, organization_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """`statement` limited to a live membership of a live, active user in a live organization."""
    return (
        statement.join(Organization, Organization.id == Membership.organization_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organization_id == organization_id,
            Membership.user_id == user_id,
            Membership.deleted_at.is_(None),
            Organization.deleted_at.is_(None),
            User.deleted_at.is_(None),
            User.is_active.is_(True),
        )
    )


async def get_membership(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    """A live membership of a live, active user in a live organization."""
    found: Membership | None = await session.scalar(
        _live_membership(select(Membership), organization_id, user_id)
    )
    return found


async def member_role(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[str, str] | None:
    """(role, organization slug) of a live membership: the access check of every organization
    route, so two columns in one Core query rather than an ORM entity."""
    statement = select(Membership.role, Organization.slug)
    row = (await session.execute(_live_membership(statement, organization_id, user_id))).first()
    return None if row is None else (row[0], row[1])


async def get_organization(
    session: AsyncSession, organization_id: uuid.UUID
) -> Organization | None:
    """A live organization by id (callers have checked membership)."""
    return await session.scalar(
        select(Organization).where(
            Organization.id == organization_id, Organization.deleted_at.is_(None)
        )
    )


async def find_organization(session: AsyncSession, ref: str) -> Organization | None:
    """A live organization by slug or id (callers check membership next)."""
    try:
        condition = Organization.id == uuid.UUID(ref)
    except ValueError:
        condition = Organization.slug == ref
    return await session.scalar(
        select(Organization).where(condition, Organization.deleted_at.is_(None))
    )


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    """Whether a live organization already uses a slug."""
    found = await session.scalar(
        select(Organization.id).where(Organization.slug == slug, Organization.deleted_at.is_(None))
    )
    return found is not None


async def list_for_user(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
    order: Sequence[Any],
    slug: str | None,
) -> tuple[list[tuple[Organization, str]], int]:
    """One page of the organizations a user belongs to, with the user's role, and the total."""
    where = [
        Membership.user_id == user_id,
        Membership.deleted_at.is_(None),
        Organization.deleted_at.is_(None),
    ]
    if slug is not None:
        where.append(Organization.slug == slug)
    base = (
        select(Organization, Membership.role)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(*where)
    )
    rows, total = await fetch_page(
        session,
        base.order_by(*order),
        offset=offset,
        limit=limit,
    )
    return [(org, role) for org, role in rows], total


async def list_members(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
    order: Sequence[Any],
    role: str | None,
) -> tuple[list[tuple[Membership, User]], int]:
    """One page of an organization's members with their users, and the total."""
    where = [
        Membership.organization_id == organization_id,
        Membership.deleted_at.is_(None),
        User.deleted_at.is_(None),
    ]
    if role is not None:
        where.append(Membership.role == role)
    base = select(Membership, User).join(User, User.id == Membership.user_id).where(*where)
    rows, total = await fetch_page(
        session,
        base.order_by(*order),
        offset=offset,
        limit=limit,
    )
    return [(m, u) for m, u in rows], total


async def get_member(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, User] | None:
    """A live member of an organization, with the user, row-locked for a change."""
    row = (
        await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.organization_id == organization_id,
                Membership.user_id == user_id,
                Membership.deleted_at.is_(None),
                User.deleted_at.is_(None),
            )
            .with_for_update(of=Membership)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def lock_organization(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Hold the organization's row until the transaction ends: member changes of one
    organization run one at a time, so "at least one admin" holds under concurrent demotions
    (each counts the admins after the previous change committed). One lock, always taken
    first: no deadlock between two changes."""
    await session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )


async def count_admins(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """Live admins of an organization."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.organization_id == organization_id,
                Membership.role == "admin",
                Membership.deleted_at.is_(None),
            )
        )
        or 0
    )


async def pending_workspaces(
    session: AsyncSession, now: datetime, limit: int = 100
) -> list[Organization]:
    """Live organizations whose MLflow workspace is not created yet and whose next attempt is
    due, the longest waiting first; row-locked (SKIP LOCKED) so two facades never work on one
    organization at once."""
    rows = await session.scalars(
        select(Organization)
        .where(
            Organization.mlflow_workspace_at.is_(None),
            or_(
                Organization.mlflow_next_attempt_at.is_(None),
                Organization.mlflow_next_attempt_at <= now,
            ),
            Organization.deleted_at.is_(None),
        )
        .order_by(Organization.mlflow_next_attempt_at.nulls_first(), Organization.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)
