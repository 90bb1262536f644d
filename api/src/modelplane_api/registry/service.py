"""Rules of the registry: models, versions from uploads, status read back from the cluster.

Registering a version: the upload (already spooled to disk by the multipart parser, so memory
stays bounded) passes the platform's one ONNX policy, is streamed to the organization's S3
prefix with its sha256 computed on the way, gets the next version number under the model row's
lock, and becomes a ModelVersion. The version row and an outbox entry holding the ModelVersion
are written in one transaction; the facade then applies it at once. When the cluster does not
answer, the entry stays and the outbox worker applies it later: the caller gets 202 and the
version's state is `pending` until then. Nothing is lost either way.

A version's state is never stored: every read asks the cluster (`observe`).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

import modelplane_onnx as onnx_policy
from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import MODEL_VERSION, ORGANIZATION, ClusterGateway
from modelplane_api.context import AppContext
from modelplane_api.errors import (
    AlreadyExists,
    ClusterRejected,
    ClusterUnavailable,
    Conflict,
    GitOpsManaged,
    InvalidModel,
    NamespaceNotReady,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from modelplane_api.mlflow_mirror import RegistryMirror
from modelplane_api.organizations import repository as org_repo
from modelplane_api.outbox import repository as outbox_repo
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.projects import repository as project_repo
from modelplane_api.registry import repository
from modelplane_api.registry.models import RegisteredModel, RegisteredVersion
from modelplane_api.registry.resources import (
    MISSING,
    PENDING,
    UNKNOWN,
    ObservedState,
    build_model_version,
    gitops_owner,
    namespace_of,
    observe,
    resource_name,
    spec_differs,
    waiting,
)
from modelplane_api.registry.schemas import (
    ClusterEvent,
    Condition,
    ModelCreate,
    ModelPublic,
    ModelUpdate,
    ReferencePublic,
    VersionDetail,
    VersionFromRun,
    VersionOptions,
    VersionPublic,
)
from modelplane_api.storage import artifact_key
from modelplane_crds import labels
from modelplane_crds.model_version import (
    Artifact,
    ModelVersionSpec,
    Provenance,
    ReferenceDataset,
    Signature,
    TensorSpec,
)

log = logging.getLogger("modelplane_api.registry")
ModelSort = Literal["created_at", "-created_at", "name", "-name", "updated_at", "-updated_at"]
VersionSort = Literal["version", "-version", "created_at", "-created_at"]
_MODEL_SORTABLE = {
    "created_at": RegisteredModel.created_at,
    "name": RegisteredModel.name,
    "updated_at": RegisteredModel.updated_at,
}
_VERSION_SORTABLE = {
    "version": RegisteredVersion.version,
    "created_at": RegisteredVersion.created_at,
}


# --------------------------------------------------------------------------------------------
# Models


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


async def _check_project(
    session: AsyncSession, organization_id: uuid.UUID, project_id: uuid.UUID | None
) -> None:
    if (
        project_id is not None
        and await project_repo.get(session, organization_id, project_id) is None
    ):
        raise NotFound("project not found")


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


# --------------------------------------------------------------------------------------------
# Versions


@dataclass(frozen=True)
class Upload:
    """A file part of the form: spooled by the multipart parser (disk beyond 1 MiB)."""

    file: IO[bytes]
    size: int
    filename: str


@dataclass(frozen=True)
class RegistryConfig:
    """What the registry needs from settings."""

    max_upload_bytes: int
    limits: onnx_policy.Limits

    @classmethod
    def of(cls, ctx: AppContext) -> RegistryConfig:
        """From the app's settings."""
        settings = ctx.settings
        return cls(
            settings.max_upload_bytes,
            onnx_policy.Limits(settings.onnx_max_nodes, frozenset(settings.onnx_allowed_domains)),
        )


async def organization_namespace(session: AsyncSession, organization_id: uuid.UUID) -> str:
    """The namespace of a live organization (404 otherwise)."""
    org = await org_repo.get_organization(session, organization_id)
    if org is None:
        raise NotFound("organization not found")
    return namespace_of(org.slug)


async def writable_namespace(
    session: AsyncSession, gateway: ClusterGateway, organization_id: uuid.UUID
) -> str:
    """The namespace the facade may write into for the organization; 409 `gitops_managed`
    naming the owner when its resources live in Git (`spec.gitopsManaged` on its Organization):
    the facade never fights a GitOps tool. When the cluster cannot answer the write goes ahead
    (it reaches the cluster through the outbox)."""
    org = await org_repo.get_organization(session, organization_id)
    if org is None:
        raise NotFound("organization not found")
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


def _check_size(upload: Upload, config: RegistryConfig, what: str) -> None:
    if upload.size > config.max_upload_bytes:
        raise PayloadTooLarge(
            f"the {what} is {upload.size} bytes, more than the limit of "
            f"{config.max_upload_bytes} bytes",
            {"limit": config.max_upload_bytes, "size": upload.size},
        )


def _inspect(source: IO[bytes], limits: onnx_policy.Limits) -> onnx_policy.OnnxInspection:
    source.seek(0)
    data = source.read()
    try:
        return onnx_policy.inspect(data, limits)
    except onnx_policy.ModelRefused as refused:
        raise InvalidModel(refused.message, {"reason": refused.reason}) from refused


def _graph_signature(found: onnx_policy.OnnxInspection) -> Signature:
    def spec(tensor: onnx_policy.Tensor) -> TensorSpec:
        return TensorSpec(name=tensor.name, datatype=tensor.datatype, shape=list(tensor.shape))

    try:
        return Signature(
            inputs=[spec(t) for t in found.inputs], outputs=[spec(t) for t in found.outputs]
        )
    except ValidationError as exc:
        raise InvalidModel(
            "the graph's signature cannot be declared: " + exc.errors()[0]["msg"],
            {"reason": onnx_policy.SIGNATURE_MISMATCH},
        ) from exc


def _parquet_columns(source: IO[bytes]) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source.seek(0)
    try:
        schema = pq.read_schema(source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidModel(
            f"the reference dataset is not a Parquet file: {exc}", {"reason": "NotParquet"}
        ) from exc
    return list(schema.names)


async def create_version(
    session: AsyncSession,
    ctx: AppContext,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    actor: uuid.UUID | None,
    model_file: Upload,
    options: VersionOptions,
    reference: Upload | None,
    reference_sha256: str | None,
    audit: AuditContext,
) -> tuple[VersionPublic, bool]:
    """Register an uploaded ONNX file as the model's next version; (version, pending)."""
    model = await get_model_or_404(session, organization_id, model_id)
    namespace = await writable_namespace(session, ctx.gateway, organization_id)
    return await _register(
        session, ctx, model, namespace, actor, model_file, options, reference, reference_sha256,
        audit,
    )  # fmt: skip


async def _register(
    session: AsyncSession,
    ctx: AppContext,
    model: RegisteredModel,
    namespace: str,
    actor: uuid.UUID | None,
    model_file: Upload,
    options: VersionOptions,
    reference: Upload | None,
    reference_sha256: str | None,
    audit: AuditContext,
    *,
    mlflow_run_id: str | None = None,
) -> tuple[VersionPublic, bool]:
    """Check, store and apply one ONNX file of a model the caller may write to."""
    organization_id, store = model.organization_id, ctx.artifacts
    config = RegistryConfig.of(ctx)
    _check_size(model_file, config, "model file")
    if reference is not None:
        _check_size(reference, config, "reference dataset")
    found = await asyncio.to_thread(_inspect, model_file.file, config.limits)
    signature = options.signature or _graph_signature(found)
    features = options.features or []
    if reference is not None and features:
        columns = set(await asyncio.to_thread(_parquet_columns, reference.file))
        absent = sorted({f.name for f in features} - columns)
        if absent:
            raise InvalidModel(
                f"the reference dataset has no column for features {absent}",
                {"reason": "ReferenceMismatch", "columns": sorted(columns)[:100]},
            )
    elif reference is not None:
        await asyncio.to_thread(_parquet_columns, reference.file)

    upload_id = uuid.uuid4()
    stored = await store.put(
        artifact_key(namespace, model.id, upload_id, "model.onnx"),
        model_file.file,
        "application/octet-stream",
    )
    dataset = None
    if reference is not None:
        kept = await store.put(
            artifact_key(namespace, model.id, upload_id, "reference.parquet"),
            reference.file,
            "application/vnd.apache.parquet",
        )
        if reference_sha256 is not None and kept.sha256 != reference_sha256.lower():
            raise InvalidModel(
                f"the reference dataset's sha256 is {kept.sha256}, the request says "
                f"{reference_sha256}",
                {"reason": "DigestMismatch"},
            )
        dataset = ReferenceDataset(uri=kept.uri, sha256=kept.sha256, format="parquet")

    number = await repository.allocate_version(session, organization_id, model.id)
    if number is None:
        raise NotFound("model not found")
    try:
        spec = ModelVersionSpec(
            model_name=model.name,
            version=str(number),
            artifact=Artifact(uri=stored.uri, sha256=stored.sha256),
            signature=signature,
            features=features,
            reference_dataset=dataset,
            provenance=Provenance(
                registry_name=model.name,
                registry_version=str(number),
                mlflow_run_id=mlflow_run_id,
            ),
        )
    except ValidationError as exc:
        raise InvalidModel(
            "the version cannot be declared: " + "; ".join(e["msg"] for e in exc.errors()),
            {"reason": "InvalidSpec"},
        ) from exc
    version = RegisteredVersion(
        id=uuid.uuid4(),
        organization_id=organization_id,
        model_id=model.id,
        version=number,
        resource_name=resource_name(model.name, number),
        description=options.description,
        source="mlflow_run" if mlflow_run_id else "upload",
        mlflow_run_id=mlflow_run_id,
        artifact_uri=stored.uri,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        spec=spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
        created_by=actor,
    )
    session.add(version)
    body = build_model_version(version.resource_name, namespace, str(version.id), spec)
    await outbox_repo.enqueue(session, organization_id, MODEL_VERSION.plural, body)
    await session.flush()
    await session.refresh(version)
    audit.resource_id = str(version.id)
    audit.after = {
        "model_id": str(model.id),
        "version": number,
        "resource_name": version.resource_name,
        "sha256": stored.sha256,
        "size_bytes": stored.size_bytes,
    }
    try:
        applied = await ctx.gateway.apply(MODEL_VERSION, body)
    except ClusterUnavailable as exc:
        log.warning(
            "cluster unavailable; the ModelVersion waits in the outbox",
            extra={"object": f"{namespace}/{version.resource_name}", "error": exc.message},
        )
        await mirror_version(ctx.mirror, version, namespace, model.name)
        return _version_public(version, namespace, PENDING), True
    await outbox_repo.remove(session, MODEL_VERSION.plural, namespace, version.resource_name)
    await mirror_version(ctx.mirror, version, namespace, model.name)
    return _version_public(version, namespace, observe(applied)), False


async def mirror_version(
    mirror: RegistryMirror, version: RegisteredVersion, namespace: str, model_name: str
) -> bool:
    """Mirror a version into the org's MLflow Model Registry (tagged with its digest and its
    ModelVersion); False when MLflow did not take it (the reconciliation tries again)."""
    tags = {
        "modelplane.io/sha256": version.sha256,
        "modelplane.io/model-version": version.resource_name,
        "modelplane.io/namespace": namespace,
        "modelplane.io/version-id": str(version.id),
    }
    try:
        version.mlflow_version = await mirror.add_version(
            namespace, model_name, version.artifact_uri, version.description, tags
        )
    except ServiceUnavailable as exc:
        log.warning(
            "version not mirrored to MLflow yet",
            extra={"object": f"{namespace}/{version.resource_name}", "error": exc.message},
        )
        return False
    return True


async def create_version_from_run(
    session: AsyncSession,
    ctx: AppContext,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    actor: uuid.UUID | None,
    data: VersionFromRun,
    audit: AuditContext,
) -> tuple[VersionPublic, bool]:
    """Copy the ONNX model logged in an MLflow run of the organization's workspace into the
    registry, then register it like an upload (the same policy, digest and ModelVersion). Only
    the MLmodel file (YAML) and the ONNX file are read: nothing is ever unpickled."""
    model = await get_model_or_404(session, organization_id, model_id)
    namespace = await writable_namespace(session, ctx.gateway, organization_id)
    config = RegistryConfig.of(ctx)
    found = await ctx.mirror.find_run_model(namespace, data.run_id, data.path)
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        size = await ctx.mirror.download(
            namespace, found.artifact_path, spool, config.max_upload_bytes
        )
        options = VersionOptions(
            description=data.description or f"from MLflow run {data.run_id}",
            signature=data.signature,
            features=data.features,
        )
        return await _register(
            session,
            ctx,
            model,
            namespace,
            actor,
            Upload(spool, size, found.artifact_path.rsplit("/", 1)[-1]),
            options,
            None,
            None,
            audit,
            mlflow_run_id=data.run_id,
        )


def _version_public(
    version: RegisteredVersion, namespace: str, observed: ObservedState
) -> VersionPublic:
    spec = version.spec
    reference = spec.get("referenceDataset")
    return VersionPublic(
        id=version.id,
        organization_id=version.organization_id,
        model_id=version.model_id,
        version=version.version,
        resource_name=version.resource_name,
        namespace=namespace,
        description=version.description,
        source=version.source,
        mlflow_run_id=version.mlflow_run_id,
        mlflow_version=version.mlflow_version,
        artifact_uri=version.artifact_uri,
        sha256=version.sha256,
        size_bytes=version.size_bytes,
        signature=dict(spec.get("signature") or {}),
        features=list(spec.get("features") or []),
        reference_dataset=ReferencePublic(**reference) if reference else None,
        state=observed.state,
        reason=observed.reason,
        message=observed.message,
        conditions=[
            Condition(
                type=str(c.get("type")),
                status=str(c.get("status")),
                reason=c.get("reason"),
                message=c.get("message"),
                last_transition_time=c.get("lastTransitionTime"),
            )
            for c in observed.conditions
        ],
        used_by=observed.used_by,
        created_at=version.created_at,
        created_by=version.created_by,
    )


async def _observed(
    session: AsyncSession,
    gateway: ClusterGateway,
    namespace: str,
    versions: list[RegisteredVersion],
    model_name: str,
) -> dict[uuid.UUID, ObservedState]:
    """The cluster's view of each version: one list call, pending ones from the outbox."""
    queued = await outbox_repo.pending(
        session, MODEL_VERSION.plural, [(namespace, v.resource_name) for v in versions]
    )
    try:
        live = await gateway.list_objects(MODEL_VERSION, namespace, f"{labels.MODEL}={model_name}")
    except ClusterUnavailable:
        live = None
    by_name = {obj["metadata"]["name"]: obj for obj in live or []}
    observed: dict[uuid.UUID, ObservedState] = {}
    for version in versions:
        entry = queued.get((namespace, version.resource_name))
        if entry is not None:
            observed[version.id] = waiting(entry.last_error)
        elif live is None:
            observed[version.id] = UNKNOWN
        else:
            observed[version.id] = observe(by_name.get(version.resource_name))
    return observed


async def list_versions(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    paging: PageParams,
    sort: VersionSort,
) -> tuple[list[VersionPublic], int]:
    """One page of a model's versions with their state in the cluster."""
    model = await get_model_or_404(session, organization_id, model_id)
    namespace = await organization_namespace(session, organization_id)
    rows, total = await repository.list_versions(
        session,
        organization_id,
        model.id,
        offset=paging.offset,
        limit=paging.limit,
        order=order_by(sort, _VERSION_SORTABLE, RegisteredVersion.id),
    )
    observed = await _observed(session, gateway, namespace, rows, model.name)
    return [_version_public(row, namespace, observed[row.id]) for row in rows], total


async def get_version(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    version_id: uuid.UUID,
) -> VersionDetail:
    """One version with its conditions and Kubernetes Events."""
    version = await repository.get_version(session, organization_id, model_id, version_id)
    if version is None:
        raise NotFound("version not found")
    namespace = await organization_namespace(session, organization_id)
    queued = await outbox_repo.pending(
        session, MODEL_VERSION.plural, [(namespace, version.resource_name)]
    )
    events: list[dict[str, Any]] = []
    if queued:
        entry = next(iter(queued.values()))
        observed = waiting(entry.last_error)
    else:
        try:
            observed = observe(await gateway.get(MODEL_VERSION, version.resource_name, namespace))
            if observed is not MISSING:
                events = await gateway.events(namespace, "ModelVersion", version.resource_name)
        except ClusterUnavailable:
            observed = UNKNOWN
    public = _version_public(version, namespace, observed)
    return VersionDetail(
        **public.model_dump(),
        events=[
            ClusterEvent(
                type=e.get("type"),
                reason=e.get("reason"),
                message=e.get("message"),
                count=e.get("count"),
                last_timestamp=e.get("last_timestamp") or e.get("event_time"),
            )
            for e in events
        ],
    )


# --------------------------------------------------------------------------------------------
# Reconciliation


async def reconcile_once(ctx: AppContext) -> int:
    """Re-apply every registered ModelVersion that is missing from the cluster or differs from
    the database (counted in `modelplane_api_reconcile_reapplied_total`), then mirror into MLflow
    what it has not taken yet; the number re-applied. Versions still waiting in the outbox are
    the outbox's job; a namespace the operator has not made yet is skipped until the next run."""
    reapplied = 0
    async with ctx.read_sessions() as session:
        by_namespace: dict[str, list[RegisteredVersion]] = {}
        for version, slug in await repository.live_versions(session):
            by_namespace.setdefault(namespace_of(slug), []).append(version)
        try:
            for namespace, versions in by_namespace.items():
                reapplied += await _reconcile_namespace(ctx, session, namespace, versions)
        except ClusterUnavailable as exc:
            log.warning("reconciliation stopped: %s", exc.message)
            ctx.metrics.reconcile_runs.labels("cluster_unavailable").inc()
            return reapplied
    ctx.metrics.reconcile_runs.labels("ok").inc()
    await mirror_pending(ctx)
    return reapplied


async def _reconcile_namespace(
    ctx: AppContext, session: AsyncSession, namespace: str, versions: list[RegisteredVersion]
) -> int:
    queued = await outbox_repo.pending(
        session, MODEL_VERSION.plural, [(namespace, v.resource_name) for v in versions]
    )
    live = {
        obj["metadata"]["name"]: obj
        for obj in await ctx.gateway.list_objects(
            MODEL_VERSION, namespace, f"{labels.APP_MANAGED_BY}=modelplane-api"
        )
    }
    reapplied = 0
    for version in versions:
        if (namespace, version.resource_name) in queued:
            continue
        obj = live.get(version.resource_name)
        if obj is None:
            cause = "missing"
        elif spec_differs(obj, version.spec):
            cause = "drifted"
        else:
            continue
        spec = ModelVersionSpec.model_validate(version.spec)
        body = build_model_version(version.resource_name, namespace, str(version.id), spec)
        try:
            await ctx.gateway.apply(MODEL_VERSION, body)
        except NamespaceNotReady:
            return reapplied  # not provisioned (yet): the next run tries again
        except ClusterRejected as exc:  # e.g. the webhook refusing a changed spec: go on
            log.warning(
                "could not re-apply a ModelVersion",
                extra={"object": f"{namespace}/{version.resource_name}", "error": exc.message},
            )
            continue
        ctx.metrics.reconcile_reapplied.labels(MODEL_VERSION.kind, cause).inc()
        reapplied += 1
    return reapplied


async def mirror_pending(ctx: AppContext) -> int:
    """Mirror into MLflow the versions it has not taken yet; how many it took now."""
    mirrored = 0
    async with ctx.sessions() as session:
        for version, slug, model_name in await repository.unmirrored_versions(session):
            if await mirror_version(ctx.mirror, version, namespace_of(slug), model_name):
                mirrored += 1
            else:
                break  # MLflow is down: the next run tries again
        await session.commit()
    return mirrored
