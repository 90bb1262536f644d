"""Routes of `/api/v1/organizations/{org_id}/projects`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from modelplane_api.audit.recorder import audited
from modelplane_api.deps import (
    Audit,
    Ctx,
    ProjectCreateAccess,
    ProjectDeleteAccess,
    ProjectReadAccess,
    ProjectUpdateAccess,
    SessionDep,
    known_filters,
)
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, PageEnvelope, ok, page
from modelplane_api.pagination import Paging
from modelplane_api.projects import service
from modelplane_api.projects.schemas import ProjectCreate, ProjectPublic, ProjectUpdate
from modelplane_api.projects.service import ProjectSort

router = APIRouter(
    prefix="/organizations/{org_id}/projects", tags=["projects"], responses=ERROR_RESPONSES
)


@router.get("", operation_id="list_projects")
async def list_projects(
    session: SessionDep,
    paging: Paging,
    access: ProjectReadAccess,
    _: Annotated[None, known_filters("name")],
    sort: ProjectSort = "-created_at",
    filter_name: Annotated[str | None, Query(alias="filter[name]", max_length=100)] = None,
) -> PageEnvelope[ProjectPublic]:
    """Projects of an organization."""
    items, total = await service.list_projects(
        session, access.organization_id, paging, sort, name=filter_name
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_project",
    openapi_extra=audited("project.create", "project"),
)
async def create_project(
    body: ProjectCreate, session: SessionDep, audit: Audit, access: ProjectCreateAccess
) -> Envelope[ProjectPublic]:
    """Create a project."""
    return ok(
        await service.create(session, access.organization_id, access.principal.user_id, body, audit)
    )


@router.get("/{project_id}", operation_id="get_project")
async def get_project(
    project_id: uuid.UUID, session: SessionDep, access: ProjectReadAccess
) -> Envelope[ProjectPublic]:
    """One project."""
    return ok(await service.get(session, access.organization_id, project_id))


@router.patch(
    "/{project_id}",
    operation_id="update_project",
    openapi_extra=audited("project.update", "project"),
)
async def update_project(
    project_id: uuid.UUID,
    body: ProjectUpdate,
    session: SessionDep,
    audit: Audit,
    access: ProjectUpdateAccess,
) -> Envelope[ProjectPublic]:
    """Change a project's name or description."""
    return ok(await service.update(session, access.organization_id, project_id, body, audit))


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_project",
    openapi_extra=audited("project.delete", "project"),
)
async def delete_project(
    project_id: uuid.UUID,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: ProjectDeleteAccess,
) -> None:
    """Delete a project."""
    await service.delete(session, access.organization_id, project_id, ctx.clock(), audit)
