"""Routes of `/api/v1/organizations/{org_id}/api-keys`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from modelplane_api.api_keys import service
from modelplane_api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from modelplane_api.api_keys.service import KeySort
from modelplane_api.audit.recorder import audited
from modelplane_api.deps import (
    ApiKeyCreateAccess,
    ApiKeyDeleteAccess,
    ApiKeyReadAccess,
    Audit,
    Ctx,
    SessionDep,
    known_filters,
)
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, PageEnvelope, ok, page
from modelplane_api.pagination import Paging
from modelplane_api.permissions import Role

router = APIRouter(
    prefix="/organizations/{org_id}/api-keys", tags=["api-keys"], responses=ERROR_RESPONSES
)


@router.get("", operation_id="list_api_keys")
async def list_api_keys(
    session: SessionDep,
    paging: Paging,
    access: ApiKeyReadAccess,
    _: Annotated[None, known_filters("role")],
    sort: KeySort = "-created_at",
    filter_role: Annotated[Role | None, Query(alias="filter[role]")] = None,
) -> PageEnvelope[ApiKeyPublic]:
    """API keys of an organization (never their secrets)."""
    items, total = await service.list_api_keys(
        session, access.organization_id, paging, sort, role=filter_role
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_api_key",
    openapi_extra=audited("api_key.create", "api_key"),
)
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, ctx: Ctx, audit: Audit, access: ApiKeyCreateAccess
) -> Envelope[ApiKeyCreated]:
    """Create an API key for a machine; the secret is shown only in this response."""
    return ok(
        await service.create(
            session, access.organization_id, access.principal.user_id, body, ctx.clock(), audit
        )
    )


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="revoke_api_key",
    openapi_extra=audited("api_key.delete", "api_key"),
)
async def revoke_api_key(
    key_id: uuid.UUID, session: SessionDep, ctx: Ctx, audit: Audit, access: ApiKeyDeleteAccess
) -> None:
    """Revoke an API key."""
    await service.revoke(session, access.organization_id, key_id, ctx.clock(), audit)
