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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from modelplane_api.mlflow_mirror import (
    MlflowRefused,
    MlflowUnavailable,
    MlflowUnreachable,
    RegistryMirror,
)
from modelplane_api.organizations import repository as org_repo
from modelplane_api.organizations.resources import gitops_owner
from modelplane_api.outbox import repository as outbox_repo
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.projects import repository as project_repo
from modelplane_api.registry import repository
from modelplane_api.registry.models import RegisteredModel, RegisteredVersion
from modelplane_api.registry.resources import (
    MISSING,
    PENDING,
    UNKNOWN,
    VERSION_ID_ANNOTATION,
    ObservedState,
    build_model_version,
    namespace_of,
    observe,
    resource_name,
    slug_of,
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
from modelplane_api.storage import ArtifactStore, artifact_key
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


Commit = Callable[[], Awaitable[None]]
"""Commits the request's transaction with its audit event (the route's `Committer`)."""


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
    commit: Commit,
) -> tuple[VersionPublic, bool]:
    """Register an uploaded ONNX file as the model's next version; (version, pending)."""
    model = await get_model_or_404(session, organization_id, model_id)
    namespace = await writable_namespace(session, ctx.gateway, organization_id)
    upload = _Checked(model_file, options, reference, reference_sha256)
    return await _register(session, ctx, model, namespace, actor, upload, audit, commit)


@dataclass(frozen=True)
class _Checked:
    """What a registration was given: the model file and its options, a reference dataset."""

    model_file: Upload
    options: VersionOptions
    reference: Upload | None = None
    reference_sha256: str | None = None


async def _register(
    session: AsyncSession,
    ctx: AppContext,
    model: RegisteredModel,
    namespace: str,
    actor: uuid.UUID | None,
    upload: _Checked,
    audit: AuditContext,
    commit: Commit,
    *,
    mlflow_run_id: str | None = None,
) -> tuple[VersionPublic, bool]:
    """Check, store, commit, then apply one ONNX file of a model the caller may write to.

    The order keeps a model from ever getting stuck: whatever can refuse the file runs first;
    the bytes go to a fresh upload folder in S3 (removed again if anything fails before the
    commit); the number is allocated, skipping names already taken in the cluster, and the
    version row, its outbox entry and the audit event are committed; only then is the
    ModelVersion applied and the version mirrored into MLflow. So nothing outside the database
    names a version the database rolled back, and no row lock is held while the cluster or
    MLflow answers."""
    spec_parts = await _check(upload, RegistryConfig.of(ctx))
    taken = await _taken_names(ctx.gateway, namespace, model.name)
    stored_keys: list[str] = []
    try:
        version, body = await _store_and_record(
            session, ctx, model, namespace, actor, upload, spec_parts, taken, stored_keys,
            mlflow_run_id,
        )  # fmt: skip
        audit.resource_id = str(version.id)
        audit.after = {
            "model_id": str(model.id),
            "version": version.version,
            "resource_name": version.resource_name,
            "sha256": version.sha256,
            "size_bytes": version.size_bytes,
        }
        if taken is None:  # the cluster did not answer: the outbox applies it later
            audit.status_code = 202
        await commit()
    except BaseException:
        await _discard(ctx.artifacts, stored_keys)
        raise
    if taken is None:
        await mirror_version(ctx.mirror, version, namespace, model.name, ctx.clock())
        return _version_public(version, namespace, PENDING), True
    observed = await _apply_committed(session, ctx.gateway, body)
    await mirror_version(ctx.mirror, version, namespace, model.name, ctx.clock())
    return _version_public(version, namespace, observed), False


@dataclass(frozen=True)
class _SpecParts:
    """What the checks of an upload found: the signature and features to declare."""

    signature: Signature
    features: list[Any]


async def _check(upload: _Checked, config: RegistryConfig) -> _SpecParts:
    """Every refusal that needs no storage: sizes, the ONNX policy, the reference's columns."""
    _check_size(upload.model_file, config, "model file")
    if upload.reference is not None:
        _check_size(upload.reference, config, "reference dataset")
    found = await asyncio.to_thread(_inspect, upload.model_file.file, config.limits)
    options = upload.options
    signature = options.signature or _graph_signature(found)
    features = options.features or []
    if upload.reference is not None:
        columns = set(await asyncio.to_thread(_parquet_columns, upload.reference.file))
        absent = sorted({f.name for f in features} - columns)
        if absent:
            raise InvalidModel(
                f"the reference dataset has no column for features {absent}",
                {"reason": "ReferenceMismatch", "columns": sorted(columns)[:100]},
            )
    return _SpecParts(signature, list(features))


async def _taken_names(gateway: ClusterGateway, namespace: str, model_name: str) -> set[str] | None:
    """Names of the model's ModelVersions already in the cluster, whoever applied them (a
    `kubectl apply` of `<model>-v7` must not make upload 7 collide with an immutable spec);
    None when the cluster does not answer."""
    try:
        found = await gateway.list_objects(MODEL_VERSION, namespace)
    except ClusterUnavailable:
        return None
    prefix = f"{model_name}-v"
    return {obj["metadata"]["name"] for obj in found if obj["metadata"]["name"].startswith(prefix)}


async def _store_and_record(
    session: AsyncSession,
    ctx: AppContext,
    model: RegisteredModel,
    namespace: str,
    actor: uuid.UUID | None,
    upload: _Checked,
    parts: _SpecParts,
    taken: set[str] | None,
    stored_keys: list[str],
    mlflow_run_id: str | None,
) -> tuple[RegisteredVersion, dict[str, Any]]:
    """Stream the files to S3 (their keys appended to `stored_keys` as they are written), then
    allocate the number and add the version row and its outbox entry (not committed)."""
    store, upload_id = ctx.artifacts, uuid.uuid4()
    key = artifact_key(namespace, model.id, upload_id, "model.onnx")
    stored_keys.append(key)
    stored = await store.put(key, upload.model_file.file, "application/octet-stream")
    dataset = None
    if upload.reference is not None:
        key = artifact_key(namespace, model.id, upload_id, "reference.parquet")
        stored_keys.append(key)
        kept = await store.put(key, upload.reference.file, "application/vnd.apache.parquet")
        expected = upload.reference_sha256
        if expected is not None and kept.sha256 != expected.lower():
            raise InvalidModel(
                f"the reference dataset's sha256 is {kept.sha256}, the request says {expected}",
                {"reason": "DigestMismatch"},
            )
        dataset = ReferenceDataset(uri=kept.uri, sha256=kept.sha256, format="parquet")
    number = await _allocate_free_number(session, model, taken or set())
    try:
        spec = ModelVersionSpec(
            model_name=model.name,
            version=str(number),
            artifact=Artifact(uri=stored.uri, sha256=stored.sha256),
            signature=parts.signature,
            features=parts.features,
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
        organization_id=model.organization_id,
        model_id=model.id,
        version=number,
        resource_name=resource_name(model.name, number),
        description=upload.options.description,
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
    await outbox_repo.enqueue(session, model.organization_id, MODEL_VERSION.plural, body)
    await session.flush()
    await session.refresh(version)
    return version, body


async def _allocate_free_number(
    session: AsyncSession, model: RegisteredModel, taken: set[str]
) -> int:
    """The model's next version number whose ModelVersion name nobody has taken (numbers
    taken by someone else are skipped, and stay skipped)."""
    while True:
        number = await repository.allocate_version(session, model.organization_id, model.id)
        if number is None:
            raise NotFound("model not found")
        if resource_name(model.name, number) not in taken:
            return number
        log.warning(
            "version number skipped: its ModelVersion name is taken in the cluster",
            extra={"object": resource_name(model.name, number)},
        )


async def _discard(store: ArtifactStore, keys: list[str]) -> None:
    """Remove what a refused upload wrote to S3 (best effort: a failure is logged)."""
    for key in keys:
        try:
            await store.delete(key)
        except Exception:
            log.exception("could not remove a refused upload's object", extra={"key": key})


async def _apply_committed(
    session: AsyncSession, gateway: ClusterGateway, body: dict[str, Any]
) -> ObservedState:
    """Apply a committed version's ModelVersion and forget its outbox entry; when the cluster
    does not take it now, the entry stays (with the reason) for the outbox worker."""
    meta = body["metadata"]
    try:
        applied = await gateway.apply(MODEL_VERSION, body)
    except (ClusterUnavailable, ClusterRejected) as exc:
        log.warning(
            "the ModelVersion waits in the outbox",
            extra={"object": f"{meta['namespace']}/{meta['name']}", "error": exc.message},
        )
        await outbox_repo.record_failure(
            session, MODEL_VERSION.plural, meta["namespace"], meta["name"], exc.message
        )
        return waiting(exc.message)
    await outbox_repo.remove(session, MODEL_VERSION.plural, meta["namespace"], meta["name"])
    return observe(applied)


MirrorOutcome = Literal["mirrored", "refused", "unavailable", "unreachable"]
MIRROR_REFUSED_RETRY = timedelta(hours=1)
MIRROR_MAX_BACKOFF = timedelta(minutes=30)


async def mirror_version(
    mirror: RegistryMirror,
    version: RegisteredVersion,
    namespace: str,
    model_name: str,
    now: datetime,
) -> MirrorOutcome:
    """Mirror a version into the org's MLflow Model Registry (tagged with its digest and its
    ModelVersion). When MLflow does not take it, the version keeps why (`mlflow_error`, shown
    by the API) and when to try again: soon after an outage (backing off), in an hour after a
    refusal, so one version MLflow refuses never holds up the others."""
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
        outcome: MirrorOutcome = (
            "refused"
            if isinstance(exc, MlflowRefused)
            else "unavailable"
            if isinstance(exc, MlflowUnavailable) and not isinstance(exc, MlflowUnreachable)
            else "unreachable"
        )
        version.mlflow_attempts += 1
        version.mlflow_error = exc.message[:2000]
        version.mlflow_next_attempt_at = now + (
            MIRROR_REFUSED_RETRY
            if outcome == "refused"
            else min(
                timedelta(seconds=5 * 2 ** min(version.mlflow_attempts, 12)), MIRROR_MAX_BACKOFF
            )
        )
        log.warning(
            "version not mirrored to MLflow yet",
            extra={"object": f"{namespace}/{version.resource_name}", "error": exc.message},
        )
        return outcome
    version.mlflow_error, version.mlflow_next_attempt_at = None, None
    return "mirrored"


async def create_version_from_run(
    session: AsyncSession,
    ctx: AppContext,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    actor: uuid.UUID | None,
    data: VersionFromRun,
    audit: AuditContext,
    commit: Commit,
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
        upload = _Checked(Upload(spool, size, found.artifact_path.rsplit("/", 1)[-1]), options)
        return await _register(
            session, ctx, model, namespace, actor, upload, audit, commit,
            mlflow_run_id=data.run_id,
        )  # fmt: skip


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
        mlflow_error=version.mlflow_error,
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
    the outbox's job; a namespace the operator has not made yet is skipped until the next run,
    and a GitOps-managed organization's namespace is never written."""
    reapplied = 0
    async with ctx.read_sessions() as session:
        by_namespace: dict[str, list[RegisteredVersion]] = {}
        for version, slug in await repository.live_versions(session):
            by_namespace.setdefault(namespace_of(slug), []).append(version)
        try:
            for namespace, versions in by_namespace.items():
                if gitops_owner(await ctx.gateway.get(ORGANIZATION, slug_of(namespace))):
                    continue  # its resources live in Git: never fight the GitOps tool
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
    known = {version.resource_name for version in versions}
    await _remove_orphans(ctx, session, [obj for name, obj in live.items() if name not in known])
    return reapplied


async def _remove_orphans(
    ctx: AppContext, session: AsyncSession, candidates: list[dict[str, Any]]
) -> None:
    """Delete ModelVersions the facade applied for a version row that does not exist (a
    registration whose transaction failed after the apply, before versions were committed
    first) unless a deployment uses them; the row is looked up again, so a version committed
    after this pass read the database is never taken for an orphan."""
    by_id: dict[uuid.UUID, dict[str, Any]] = {}
    for obj in candidates:
        annotation = ((obj.get("metadata") or {}).get("annotations") or {}).get(
            VERSION_ID_ANNOTATION, ""
        )
        try:
            by_id[uuid.UUID(annotation)] = obj
        except ValueError:
            continue  # not one the facade made for a row: leave it alone
    existing = await repository.existing_version_ids(session, list(by_id))
    for version_id, obj in by_id.items():
        meta = obj["metadata"]
        if version_id in existing or observe(obj).used_by:
            continue
        await ctx.gateway.delete(MODEL_VERSION, meta["name"], meta["namespace"])
        ctx.metrics.reconcile_reapplied.labels(MODEL_VERSION.kind, "orphan_removed").inc()
        log.warning(
            "removed an orphaned ModelVersion (no version row names it)",
            extra={"object": f"{meta['namespace']}/{meta['name']}"},
        )


async def mirror_pending(ctx: AppContext) -> int:
    """Mirror into MLflow the versions it has not taken yet and that are due; how many it took
    now. Each version retries on its own schedule; only an MLflow that does not answer at all
    ends the pass (it would not answer the next one either)."""
    mirrored = 0
    async with ctx.sessions() as session:
        now = ctx.clock()
        for version, slug, model_name in await repository.unmirrored_versions(session, now):
            outcome = await mirror_version(ctx.mirror, version, namespace_of(slug), model_name, now)
            mirrored += outcome == "mirrored"
            if outcome == "unreachable":
                break
        await session.commit()
    return mirrored
