"""Rules for API keys: machine credentials bound to one organization and one role.

The secret is returned once at creation and stored only as a SHA-256 digest. A key cannot carry
more power than its creator: only admins create keys, and the role is one of the three.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from modelplane_api.audit.recorder import AuditContext
from modelplane_api.auth import repository
from modelplane_api.auth.models import ApiKey
from modelplane_api.errors import BadRequest, NotFound
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.permissions import Role
from modelplane_api.security import digest, new_api_key

SHOWN_PREFIX = 12
KeySort = Literal["created_at", "-created_at", "name", "-name"]


async def list_api_keys(
    session: AsyncSession,
    organization_id: uuid.UUID,
    paging: PageParams,
    sort: KeySort,
    *,
    role: Role | None,
) -> tuple[list[ApiKeyPublic], int]:
    """One page of an organization's live keys (never their secrets) and the total."""
    rows, total = await repository.list_api_keys(
        session,
        organization_id,
        offset=paging.offset,
        limit=paging.limit,
        order=order_by(sort, {"created_at": ApiKey.created_at, "name": ApiKey.name}, ApiKey.id),
        role=role.value if role else None,
    )
    return [ApiKeyPublic.model_validate(row) for row in rows], total


async def create(
    session: AsyncSession,
    organization_id: uuid.UUID,
    actor: uuid.UUID | None,
    data: ApiKeyCreate,
    now: datetime,
    audit: AuditContext,
) -> ApiKeyCreated:
    """Create a key; the response is the only place the secret ever appears."""
    if data.expires_at is not None and data.expires_at <= now:
        raise BadRequest("expires_at must be in the future")
    secret = new_api_key()
    key = ApiKey(
        id=uuid.uuid4(),
        organization_id=organization_id,
        name=data.name,
        role=data.role.value,
        scope=data.scope.value,
        key_hash=digest(secret),
        prefix=secret[:SHOWN_PREFIX],
        expires_at=data.expires_at,
        created_by=actor,
    )
    session.add(key)
    await session.flush()
    await session.refresh(key)
    audit.resource_id = str(key.id)
    audit.after = {"name": key.name, "role": key.role, "scope": key.scope, "prefix": key.prefix}
    public = ApiKeyPublic.model_validate(key)
    return ApiKeyCreated(**public.model_dump(), key=secret)


async def get_api_key_or_404(
    session: AsyncSession, organization_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKey:
    """A live API key of the organization, or 404."""
    key = await repository.get_api_key(session, organization_id, key_id)
    if key is None:
        raise NotFound("API key not found")
    return key


async def revoke(
    session: AsyncSession,
    organization_id: uuid.UUID,
    key_id: uuid.UUID,
    now: datetime,
    audit: AuditContext,
) -> None:
    """Revoke a key (soft delete); it stops working at once."""
    key = await get_api_key_or_404(session, organization_id, key_id)
    audit.resource_id = str(key.id)
    audit.before = {"name": key.name, "role": key.role, "prefix": key.prefix}
    key.deleted_at = now
