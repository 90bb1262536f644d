"""Rules of the registry's models: list, create, read, change and delete them, and the two
namespace lookups every registry write and read starts from (`writable_namespace` refuses a
GitOps-managed organization, `organization_namespace` only needs it to exist). Called by the
registry's routes, by `versions` and `from_run`, and by the drift monitors' and deployments'
services.

Versions live in `versions` (uploads), `from_run` (copies of MLflow runs) and `reconcile`
(re-applying ModelVersions, mirroring into MLflow).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import MODEL_VERSION, ORGANIZATION, ClusterGateway
from modelplane_api.context import AppContext
from modelplane_api.errors import (
    AlreadyExists,
    ClusterUnavailable,
    Conflict,
    GitOpsManaged,
    NotFound,
    ServiceUnavailable,
)
from modelplane_api.organizations.resources import gitops_owner
from modelplane_api.organizations.service import get_organization_or_404
from modelplane_api.outbox import repository as outbox_repo
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.projects.service import get_project_or_404
from modelplane_api.registry import repository
from modelplane_api.registry.models import RegisteredModel, RegisteredVersion
from modelplane_api.registry.resources import namespace_of, observe
from modelplane_api.registry.schemas import ModelCreate, ModelPublic, ModelUpdate
from modelplane_crds import labels

log = logging.getLogger("modelplane_api.registry")
ModelSort = Literal["created_at", "-created_at", "name", "-name", "updated_at", "-updated_at"]
_MODEL_SORTABLE = {
    "created_at": RegisteredModel.created_at,
    "name": RegisteredModel.name,
    "updated_at": RegisteredModel.updated_at,
}


def _model_public(model: RegisteredModel, latest: int | None) -> ModelPublic:
    return ModelPublic(
        id=model.id,
        organization_id=model.organization_id,
        project_id=model.project_id,
        name=model.name,
        description=model.description,
        task_type=model.task_type,
        tags=dict(model.tags),
        latest_version=latest,
        created_at=model.created_at,
        updated_at=model.updated_at,
        created_by=model.created_by,
    )


def _snapshot(model: RegisteredModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "project_id": str(model.project_id) if model.project_id else None,
        "task_type": model.task_type,
        "tags": dict(model.tags),
    }


async def get_model_or_404(
    session: AsyncSession, organization_id: uuid.UUID, model_id: uuid.UUID
) -> RegisteredModel:
    """A live model of the organization, or 404."""
    model = await repository.get_model(session, organization_id, model_id)
    if model is None:
        raise NotFound("model not found")
    return model


async def find_version_or_404(
    session: AsyncSession, organization_id: uuid.UUID, version_id: uuid.UUID
) -> tuple[RegisteredModel, RegisteredVersion]:
    """A version of a live model of the organization, with its model, or 404."""
    found = await repository.find_version(session, organization_id, version_id)
    if found is None:
        raise NotFound("version not found")
    return found


async def organization_namespace(session: AsyncSession, organization_id: uuid.UUID) -> str:
    """The namespace of a live organization (404 otherwise)."""
    org = await get_organization_or_404(session, organization_id)
    return namespace_of(org.slug)


async def writable_namespace(
    session: AsyncSession, gateway: ClusterGateway, organization_id: uuid.UUID
) -> str:
    """The namespace the facade may write into for the organization; 409 `gitops_managed`
    naming the owner when its resources live in Git (`spec.gitopsManaged` on its Organization):
    the facade never fights a GitOps tool. When the cluster cannot answer the write goes ahead
    (it reaches the cluster through the outbox)."""
    org = await get_organization_or_404(session, organization_id)
    try:
        owner = gitops_owner(await gateway.get(ORGANIZATION, org.slug))
    except ClusterUnavailable:
        return namespace_of(org.slug)
    if owner is not None:
        raise GitOpsManaged(
            f"organization {org.slug!r} is managed by {owner}: change its models in Git, the "
            "facade is read-only for it",
            {"owner": owner},
        )
    return namespace_of(org.slug)


async def _check_project(
    session: AsyncSession, organization_id: uuid.UUID, project_id: uuid.UUID | None
) -> None:
    if project_id is not None:
        await get_project_or_404(session, organization_id, project_id)


async def list_models(
    session: AsyncSession,
    organization_id: uuid.UUID,
    paging: PageParams,
    sort: ModelSort,
    *,
    name: str | None,
    project_id: uuid.UUID | None,
) -> tuple[list[ModelPublic], int]:
    """One page of an organization's models and the total."""
    rows, total = await repository.list_models(
        session,
        organization_id,
        offset=paging.offset,
        limit=paging.limit,
        order=order_by(sort, _MODEL_SORTABLE, RegisteredModel.id),
        name=name,
        project_id=project_id,
    )
    latest = await repository.latest_versions(session, [row.id for row in rows])
    return [_model_public(row, latest.get(row.id)) for row in rows], total


async def create_model(
    session: AsyncSession,
    ctx: AppContext,
    organization_id: uuid.UUID,
    actor: uuid.UUID | None,
    data: ModelCreate,
    audit: AuditContext,
) -> ModelPublic:
    """Register a model (no versions yet). A name is never reused within an organization, not
    even after a delete: its ModelVersions' names must keep meaning the same bytes."""
    namespace = await writable_namespace(session, ctx.gateway, organization_id)
    await _check_project(session, organization_id, data.project_id)
    if await repository.name_ever_used(session, organization_id, data.name):
        raise AlreadyExists(f"model name {data.name!r} is taken (names are never reused)")
    model = RegisteredModel(
        id=uuid.uuid4(),
        organization_id=organization_id,
        project_id=data.project_id,
        name=data.name,
        description=data.description,
        task_type=data.task_type,
        tags=data.tags,
        created_by=actor,
    )
    session.add(model)
    await session.flush()
    await session.refresh(model)
    audit.resource_id, audit.after = str(model.id), _snapshot(model)
    try:  # best effort: versions create the registered model anyway
        await ctx.mirror.ensure_model(namespace, model.name, model.description)
    except ServiceUnavailable as exc:
        log.warning("model not mirrored to MLflow yet", extra={"error": exc.message})
    return _model_public(model, None)


async def get_model(
    session: AsyncSession, organization_id: uuid.UUID, model_id: uuid.UUID
) -> ModelPublic:
    """One model of the organization."""
    model = await get_model_or_404(session, organization_id, model_id)
    latest = await repository.latest_versions(session, [model.id])
    return _model_public(model, latest.get(model.id))


async def update_model(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    data: ModelUpdate,
    audit: AuditContext,
) -> ModelPublic:
    """Change a model's description, project, task type or tags."""
    model = await get_model_or_404(session, organization_id, model_id)
    await writable_namespace(session, gateway, organization_id)
    audit.resource_id, audit.before = str(model.id), _snapshot(model)
    changes = data.model_dump(exclude_none=True)
    if "project_id" in changes:
        await _check_project(session, organization_id, data.project_id)
    for name, value in changes.items():
        setattr(model, name, value)
    await session.flush()
    await session.refresh(model)
    audit.after = _snapshot(model)
    latest = await repository.latest_versions(session, [model.id])
    return _model_public(model, latest.get(model.id))


async def delete_model(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    now: datetime,
    audit: AuditContext,
) -> None:
    """Soft-delete a model and remove its ModelVersions; 409 while a deployment serves one.

    The cluster is asked which versions are in use (`status.usedBy`), so a deployment applied
    with kubectl counts the same as one made through the facade. The artifacts stay in S3."""
    model = await get_model_or_404(session, organization_id, model_id)
    namespace = await writable_namespace(session, gateway, organization_id)
    audit.resource_id, audit.before = str(model.id), _snapshot(model)
    live = await gateway.list_objects(MODEL_VERSION, namespace, f"{labels.MODEL}={model.name}")
    in_use = sorted(
        f"{obj['metadata']['name']} → {', '.join(observe(obj).used_by)}"
        for obj in live
        if observe(obj).used_by
    )
    if in_use:
        raise Conflict(
            "the model has deployed versions; remove them from their deployments first",
            {"deployed": in_use},
        )
    model.deleted_at = now
    for version in await repository.all_versions(session, organization_id, model.id):
        await outbox_repo.remove(session, MODEL_VERSION.plural, namespace, version.resource_name)
        await gateway.delete(MODEL_VERSION, version.resource_name, namespace)
