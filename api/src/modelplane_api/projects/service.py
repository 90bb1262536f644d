"""Rules for projects: names unique per organization, soft delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.errors import AlreadyExists, NotFound
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.projects import repository
from modelplane_api.projects.models import Project
from modelplane_api.projects.schemas import ProjectCreate, ProjectPublic, ProjectUpdate

ProjectSort = Literal["created_at", "-created_at", "name", "-name", "updated_at", "-updated_at"]
_SORTABLE = {
    "created_at": Project.created_at,
    "name": Project.name,
    "updated_at": Project.updated_at,
}


async def list_projects(
    session: AsyncSession,
    organization_id: uuid.UUID,
    paging: PageParams,
    sort: ProjectSort,
    *,
    name: str | None,
) -> tuple[list[ProjectPublic], int]:
    """One page of an organization's projects and the total."""
    rows, total = await repository.list_page(
        session,
        organization_id,
        offset=paging.offset,
        limit=paging.limit,
        order=order_by(sort, _SORTABLE, Project.id),
        name=name,
    )
    return [ProjectPublic.model_validate(row) for row in rows], total


def _snapshot(project: Project) -> dict[str, Any]:
    return {"name": project.name, "description": project.description}


async def create(
    session: AsyncSession,
    organization_id: uuid.UUID,
    actor: uuid.UUID | None,
    data: ProjectCreate,
    audit: AuditContext,
) -> ProjectPublic:
    """Create a project in an organization."""
    if await repository.name_taken(session, organization_id, data.name):
        raise AlreadyExists(f"project {data.name!r} exists")
    project = Project(
        id=uuid.uuid4(),
        organization_id=organization_id,
        name=data.name,
        description=data.description,
        created_by=actor,
    )
    session.add(project)
    await session.flush()
    await session.refresh(project)
    audit.resource_id, audit.after = str(project.id), _snapshot(project)
    return ProjectPublic.model_validate(project)


async def get_project_or_404(
    session: AsyncSession, organization_id: uuid.UUID, project_id: uuid.UUID
) -> Project:
    """A live project of the organization, or 404."""
    project = await repository.get(session, organization_id, project_id)
    if project is None:
        raise NotFound("project not found")
    return project


async def get(
    session: AsyncSession, organization_id: uuid.UUID, project_id: uuid.UUID
) -> ProjectPublic:
    """One project of the organization."""
    return ProjectPublic.model_validate(
        await get_project_or_404(session, organization_id, project_id)
    )


async def update(
    session: AsyncSession,
    organization_id: uuid.UUID,
    project_id: uuid.UUID,
    data: ProjectUpdate,
    audit: AuditContext,
) -> ProjectPublic:
    """Change a project's name or description."""
    project = await get_project_or_404(session, organization_id, project_id)
    audit.resource_id, audit.before = str(project.id), _snapshot(project)
    changes = data.model_dump(exclude_none=True)
    if "name" in changes and await repository.name_taken(
        session, organization_id, changes["name"], exclude=project.id
    ):
        raise AlreadyExists(f"project {changes['name']!r} exists")
    for field, value in changes.items():
        setattr(project, field, value)
    await session.flush()
    await session.refresh(project)
    audit.after = _snapshot(project)
    return ProjectPublic.model_validate(project)


async def delete(
    session: AsyncSession,
    organization_id: uuid.UUID,
    project_id: uuid.UUID,
    now: datetime,
    audit: AuditContext,
) -> None:
    """Soft-delete a project."""
    project = await get_project_or_404(session, organization_id, project_id)
    audit.resource_id, audit.before = str(project.id), _snapshot(project)
    project.deleted_at = now
