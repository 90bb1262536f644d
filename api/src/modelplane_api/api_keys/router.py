"""Routes of `/api/v1/organizations/{org_id}/api-keys`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from modelplane_api.api_keys import service
from modelplane_api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from modelplane_api.api_keys.service import KeySort
from modelplane_api.audit.recorder import audit_context, audited
from modelplane_api.deps import Ctx, OrgAccess, SessionDep, require
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, PageEnvelope, ok, page
from modelplane_api.pagination import Paging, reject_unknown_filters
from modelplane_api.permissions import Permission, Role

router = APIRouter(
    prefix="/organizations/{org_id}/api-keys", tags=["api-keys"], responses=ERROR_RESPONSES
)


@router.get("", operation_id="list_api_keys")
async def list_api_keys(
    request: Request,
    session: SessionDep,
    paging: Paging,
    access: Annotated[OrgAccess, require(Permission.API_KEY_READ)],
    sort: KeySort = "-created_at",
    filter_role: Annotated[Role | None, Query(alias="filter[role]")] = None,
) -> PageEnvelope[ApiKeyPublic]:
    """API keys of an organization (never their secrets)."""
    reject_unknown_filters(request, {"role"})
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
    request: Request,
    body: ApiKeyCreate,
    session: SessionDep,
    ctx: Ctx,
    access: Annotated[OrgAccess, require(Permission.API_KEY_CREATE)],
) -> Envelope[ApiKeyCreated]:
    """Create an API key for a machine; the secret is shown only in this response."""
    return ok(
        await service.create(
            session,
            access.organization_id,
            access.principal.user_id,
            body,
            ctx.clock(),
            audit_context(request),
        )
    )


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="revoke_api_key",
    openapi_extra=audited("api_key.delete", "api_key"),
)
async def revoke_api_key(
    request: Request,
    key_id: uuid.UUID,
    session: SessionDep,
    ctx: Ctx,
    access: Annotated[OrgAccess, require(Permission.API_KEY_DELETE)],
) -> None:
    """Revoke an API key."""
    await service.revoke(
        session, access.organization_id, key_id, ctx.clock(), audit_context(request)
    )
