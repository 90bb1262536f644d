"""Routes of `/api/v1/organizations` and their members."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from modelplane_api.audit.recorder import audited
from modelplane_api.deployments import monitoring
from modelplane_api.deployments.schemas import OrganizationUsage
from modelplane_api.deps import (
    Audit,
    Ctx,
    CurrentUser,
    MemberCreateAccess,
    MemberDeleteAccess,
    MemberReadAccess,
    MemberUpdateAccess,
    OrganizationReadAccess,
    OrganizationUpdateAccess,
    SessionDep,
    UsageReadAccess,
    known_filters,
)
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, PageEnvelope, ok, page
from modelplane_api.organizations import service
from modelplane_api.organizations.schemas import (
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
)
from modelplane_api.organizations.service import MemberSort, OrgSort
from modelplane_api.pagination import Paging
from modelplane_api.permissions import Role
from modelplane_api.registry.service import organization_namespace

router = APIRouter(prefix="/organizations", tags=["organizations"], responses=ERROR_RESPONSES)


@router.get("", operation_id="list_organizations")
async def list_organizations(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    _: Annotated[None, known_filters("slug")],
    sort: OrgSort = "-created_at",
    filter_slug: Annotated[str | None, Query(alias="filter[slug]", max_length=40)] = None,
) -> PageEnvelope[OrganizationPublic]:
    """Organizations the signed-in user belongs to."""
    items, total = await service.list_organizations(
        session, user.id, paging, sort, slug=filter_slug
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_organization",
    openapi_extra=audited("organization.create", "organization"),
)
async def create_organization(
    body: OrganizationCreate, session: SessionDep, ctx: Ctx, user: CurrentUser, audit: Audit
) -> Envelope[OrganizationPublic]:
    """Create an organization (the caller becomes its admin), its cluster resource and its
    MLflow workspace."""
    return ok(
        await service.create(session, ctx.gateway, ctx.mirror, ctx.clock(), user.id, body, audit)
    )


@router.get("/{org_id}", operation_id="get_organization")
async def get_organization(
    session: SessionDep, access: OrganizationReadAccess
) -> Envelope[OrganizationPublic]:
    """One organization the caller belongs to."""
    return ok(await service.get(session, access.organization_id, access.role))


@router.patch(
    "/{org_id}",
    operation_id="update_organization",
    openapi_extra=audited("organization.update", "organization"),
)
async def update_organization(
    body: OrganizationUpdate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: OrganizationUpdateAccess,
) -> Envelope[OrganizationPublic]:
    """Change an organization's display name or description."""
    return ok(
        await service.update(session, ctx.gateway, access.organization_id, access.role, body, audit)
    )


@router.get("/{org_id}/usage", operation_id="get_organization_usage")
async def get_organization_usage(
    session: SessionDep,
    ctx: Ctx,
    access: UsageReadAccess,
    days: Annotated[int, Query(ge=1, le=monitoring.MAX_USAGE_DAYS)] = 7,
) -> Envelope[OrganizationUsage]:
    """Requests and predictions per deployment per UTC day (today so far), for the org's
    admins, from Prometheus; 503 when it cannot answer."""
    namespace = await organization_namespace(session, access.organization_id)
    return ok(await monitoring.organization_usage(ctx, namespace, days))


@router.get("/{org_id}/members", operation_id="list_members")
async def list_members(
    session: SessionDep,
    paging: Paging,
    access: MemberReadAccess,
    _: Annotated[None, known_filters("role")],
    sort: MemberSort = "created_at",
    filter_role: Annotated[Role | None, Query(alias="filter[role]")] = None,
) -> PageEnvelope[MemberPublic]:
    """Members of an organization and their roles."""
    items, total = await service.list_members(
        session, access.organization_id, paging, sort, role=filter_role
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.post(
    "/{org_id}/members",
    status_code=status.HTTP_201_CREATED,
    operation_id="add_member",
    openapi_extra=audited("member.create", "member"),
)
async def add_member(
    body: MemberCreate, session: SessionDep, audit: Audit, access: MemberCreateAccess
) -> Envelope[MemberPublic]:
    """Add a registered user to the organization with a role."""
    return ok(
        await service.add_member(
            session, access.organization_id, access.principal.user_id, body, audit
        )
    )


@router.patch(
    "/{org_id}/members/{user_id}",
    operation_id="update_member",
    openapi_extra=audited("member.update", "member"),
)
async def update_member(
    user_id: uuid.UUID,
    body: MemberUpdate,
    session: SessionDep,
    audit: Audit,
    access: MemberUpdateAccess,
) -> Envelope[MemberPublic]:
    """Change a member's role."""
    return ok(await service.update_member(session, access.organization_id, user_id, body, audit))


@router.delete(
    "/{org_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="remove_member",
    openapi_extra=audited("member.delete", "member"),
)
async def remove_member(
    user_id: uuid.UUID,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: MemberDeleteAccess,
) -> None:
    """Remove a member from the organization."""
    await service.remove_member(session, access.organization_id, user_id, ctx.clock(), audit)
