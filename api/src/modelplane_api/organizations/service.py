"""Rules for organizations and their members.

Creating (or renaming) an organization writes the row and applies its `Organization` custom
resource in one unit: the row is inserted and flushed inside the request's transaction, then the
resource is applied (server-side apply, idempotent), and only then does the transaction commit.
A failed apply raises ClusterUnavailable, the transaction rolls back and nothing is persisted
(503). The one window left — apply succeeded, COMMIT failed — leaves a resource without a row;
retrying the same request re-applies the same object (SSA is idempotent), so the client's retry
converges. Then the organization's MLflow workspace is created, best effort (`workspaces`): an
MLflow that is away never fails the creation; the workspace is created once it is back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.auth import repository as auth_repo
from modelplane_api.auth.models import User
from modelplane_api.cluster import ORGANIZATION, ClusterGateway
from modelplane_api.errors import AlreadyExists, Conflict, GitOpsManaged, NotFound
from modelplane_api.mlflow_mirror import RegistryMirror
from modelplane_api.organizations import repository
from modelplane_api.organizations.models import Membership, Organization
from modelplane_api.organizations.resources import build_organization_resource, gitops_owner
from modelplane_api.organizations.schemas import (
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    OrganizationCreate,
    OrganizationPublic,
    OrganizationUpdate,
)
from modelplane_api.organizations.workspaces import create_workspace
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.permissions import Role

OrgSort = Literal["created_at", "-created_at", "slug", "-slug", "display_name", "-display_name"]
MemberSort = Literal["created_at", "-created_at", "email", "-email"]


async def list_organizations(
    session: AsyncSession,
    user_id: uuid.UUID,
    paging: PageParams,
    sort: OrgSort,
    *,
    slug: str | None,
) -> tuple[list[OrganizationPublic], int]:
    """One page of the organizations a user belongs to, with the user's role."""
    columns = {
        "created_at": Organization.created_at,
        "slug": Organization.slug,
        "display_name": Organization.display_name,
    }
    rows, total = await repository.list_for_user(
        session,
        user_id,
        offset=paging.offset,
        limit=paging.limit,
        order=order_by(sort, columns, Organization.id),
        slug=slug,
    )
    return [to_public(org, role) for org, role in rows], total


async def list_members(
    session: AsyncSession,
    organization_id: uuid.UUID,
    paging: PageParams,
    sort: MemberSort,
    *,
    role: Role | None,
) -> tuple[list[MemberPublic], int]:
    """One page of an organization's members."""
    columns = {"created_at": Membership.created_at, "email": User.email}
    rows, total = await repository.list_members(
        session,
        organization_id,
        offset=paging.offset,
        limit=paging.limit,
        order=order_by(sort, columns, Membership.id),
        role=role.value if role else None,
    )
    return [member_public(m, u.email, u.display_name) for m, u in rows], total


def to_public(org: Organization, role: Role | str) -> OrganizationPublic:
    """The response body of an organization for a caller with `role`."""
    return OrganizationPublic(
        id=org.id,
        slug=org.slug,
        display_name=org.display_name,
        description=org.description,
        created_at=org.created_at,
        updated_at=org.updated_at,
        created_by=org.created_by,
        role=Role(role),
    )


def _snapshot(org: Organization) -> dict[str, Any]:
    return {"slug": org.slug, "display_name": org.display_name, "description": org.description}


async def create(
    session: AsyncSession,
    gateway: ClusterGateway,
    mirror: RegistryMirror,
    now: datetime,
    user_id: uuid.UUID,
    data: OrganizationCreate,
    audit: AuditContext,
) -> OrganizationPublic:
    """Create an organization, make the creator its admin, apply its cluster resource, create
    its MLflow workspace (or leave it pending)."""
    if await repository.slug_taken(session, data.slug):
        raise AlreadyExists(f"organization slug {data.slug!r} is taken")
    org = Organization(
        id=uuid.uuid4(),
        slug=data.slug,
        display_name=data.display_name,
        description=data.description,
        created_by=user_id,
    )
    session.add(org)
    await session.flush()
    session.add(
        Membership(
            id=uuid.uuid4(),
            organization_id=org.id,
            user_id=user_id,
            role=Role.ADMIN.value,
            created_by=user_id,
        )
    )
    await session.flush()
    await session.refresh(org)
    audit.organization_id, audit.resource_id, audit.after = org.id, str(org.id), _snapshot(org)
    await gateway.apply(ORGANIZATION, build_organization_resource(org))
    await create_workspace(mirror, org, now)
    return to_public(org, Role.ADMIN)


async def get_organization_or_404(
    session: AsyncSession, organization_id: uuid.UUID
) -> Organization:
    """A live organization, or 404."""
    org = await repository.get_organization(session, organization_id)
    if org is None:
        raise NotFound("organization not found")
    return org


async def get_member_or_404(
    session: AsyncSession, organization_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[Membership, User]:
    """A live member of the organization and their user, or 404."""
    found = await repository.get_member(session, organization_id, user_id)
    if found is None:
        raise NotFound("member not found")
    return found


async def get(session: AsyncSession, organization_id: uuid.UUID, role: Role) -> OrganizationPublic:
    """One organization the caller belongs to."""
    return to_public(await get_organization_or_404(session, organization_id), role)


async def update(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    role: Role,
    data: OrganizationUpdate,
    audit: AuditContext,
) -> OrganizationPublic:
    """Change an organization's names and re-apply its resource."""
    org = await get_organization_or_404(session, organization_id)
    audit.resource_id, audit.before = str(org.id), _snapshot(org)
    changes = data.model_dump(exclude_none=True)
    if "display_name" in changes:
        owner = gitops_owner(await gateway.get(ORGANIZATION, org.slug))
        if owner is not None:  # the name is in the Organization Git holds: change it there
            raise GitOpsManaged(
                f"organization {org.slug!r} is managed by {owner}: rename it in Git, the "
                "facade does not re-apply its Organization",
                {"owner": owner},
            )
    for field, value in changes.items():
        setattr(org, field, value)
    await session.flush()
    await session.refresh(org)
    audit.after = _snapshot(org)
    if "display_name" in changes:
        await gateway.apply(ORGANIZATION, build_organization_resource(org))
    return to_public(org, role)


def member_public(membership: Membership, email: str, display_name: str) -> MemberPublic:
    """The response body of one member."""
    return MemberPublic(
        user_id=membership.user_id,
        email=email,
        display_name=display_name,
        role=Role(membership.role),
        created_at=membership.created_at,
    )


async def add_member(
    session: AsyncSession,
    organization_id: uuid.UUID,
    actor: uuid.UUID | None,
    data: MemberCreate,
    audit: AuditContext,
) -> MemberPublic:
    """Add an existing user to the organization with a role."""
    user = await auth_repo.get_user_by_email(session, data.email.lower())
    if user is None:
        raise NotFound("no user with this email")
    if await repository.get_membership(session, organization_id, user.id) is not None:
        raise AlreadyExists("the user is already a member")
    membership = Membership(
        id=uuid.uuid4(),
        organization_id=organization_id,
        user_id=user.id,
        role=data.role.value,
        created_by=actor,
    )
    session.add(membership)
    await session.flush()
    await session.refresh(membership)
    audit.resource_id = str(user.id)
    audit.after = {"user_id": str(user.id), "role": data.role.value}
    return member_public(membership, user.email, user.display_name)


async def update_member(
    session: AsyncSession,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    data: MemberUpdate,
    audit: AuditContext,
) -> MemberPublic:
    """Change a member's role; the last admin cannot be demoted, even by two requests at once."""
    await repository.lock_organization(session, organization_id)
    membership, user = await get_member_or_404(session, organization_id, user_id)
    audit.resource_id, audit.before = str(user_id), {"role": membership.role}
    if (
        membership.role == Role.ADMIN
        and data.role != Role.ADMIN
        and await repository.count_admins(session, organization_id) <= 1
    ):
        raise Conflict("an organization needs at least one admin")
    membership.role = data.role.value
    await session.flush()
    await session.refresh(membership)
    audit.after = {"role": membership.role}
    return member_public(membership, user.email, user.display_name)


async def remove_member(
    session: AsyncSession,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    now: Any,
    audit: AuditContext,
) -> None:
    """Remove a member (soft delete); the last admin cannot leave, even by two requests at once."""
    await repository.lock_organization(session, organization_id)
    membership, _ = await get_member_or_404(session, organization_id, user_id)
    audit.resource_id, audit.before = str(user_id), {"role": membership.role}
    if (
        membership.role == Role.ADMIN
        and await repository.count_admins(session, organization_id) <= 1
    ):
        raise Conflict("an organization needs at least one admin")
    membership.deleted_at = now
