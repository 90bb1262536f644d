"""Queries on users, refresh tokens and API keys. Never commits (the request does)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.auth.models import ApiKey, RefreshToken, User
from modelplane_api.db import fetch_page
from modelplane_api.organizations.models import Organization


async def get_active_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """A live, active user by id."""
    return await session.scalar(
        select(User).where(User.id == user_id, User.deleted_at.is_(None), User.is_active.is_(True))
    )


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """A live user by (lower-cased) email."""
    return await session.scalar(select(User).where(User.email == email, User.deleted_at.is_(None)))


async def count_users(session: AsyncSession) -> int:
    """How many live users exist."""
    return int(
        await session.scalar(
            select(func.count()).select_from(User).where(User.deleted_at.is_(None))
        )
        or 0
    )


async def get_refresh_token_for_update(
    session: AsyncSession, token_hash: str
) -> RefreshToken | None:
    """A refresh token by digest, row-locked so concurrent refreshes serialise."""
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    """Revoke every token of a family that is not revoked yet."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def get_live_api_key(
    session: AsyncSession, key_hash: str, now: datetime
) -> tuple[ApiKey, str] | None:
    """An API key by digest that is neither deleted, expired nor of a deleted organization,
    with its organization's slug (one query: the inference proxy needs both)."""
    row = (
        await session.execute(
            select(ApiKey, Organization.slug)
            .join(Organization, Organization.id == ApiKey.organization_id)
            .where(
                ApiKey.key_hash == key_hash,
                ApiKey.deleted_at.is_(None),
                Organization.deleted_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def list_api_keys(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
    order: Sequence[Any],
    role: str | None,
) -> tuple[list[ApiKey], int]:
    """One page of an organization's live API keys and the total."""
    where = [ApiKey.organization_id == organization_id, ApiKey.deleted_at.is_(None)]
    if role is not None:
        where.append(ApiKey.role == role)
    query = select(ApiKey).where(*where).order_by(*order)
    rows, total = await fetch_page(session, query, offset=offset, limit=limit)
    return [row[0] for row in rows], total


async def get_api_key(
    session: AsyncSession, organization_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey | None:
    """A live API key of one organization."""
    return await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id,
            ApiKey.organization_id == organization_id,
            ApiKey.deleted_at.is_(None),
        )
    )
