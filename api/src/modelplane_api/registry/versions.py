"""Registering and reading a model's versions.

Registering one file (`register`, shared by uploads and `from_run`) keeps a model from ever
getting stuck, in this order: every check that can refuse the file runs first (`uploads`);
the bytes are streamed to a fresh upload folder in the organization's S3 prefix (sha256
computed on the way, removed again if anything fails before the commit); the next version
number is allocated under the model row's lock, skipping names already taken in the cluster;
the version row, an outbox entry holding its ModelVersion and the audit event are committed;
only then is the ModelVersion applied and the version mirrored into MLflow. When the cluster
does not answer, the entry stays and the outbox worker applies it later: the caller gets 202
and the version's state is `pending` until then. Nothing is lost either way, nothing outside
the database names a version the database rolled back, and no row lock is held while the
cluster or MLflow answers.

A version's state is never stored: every read asks the cluster (`observe`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import MODEL_VERSION, ClusterCaller, ClusterGateway
from modelplane_api.context import AppContext
from modelplane_api.errors import ClusterRejected, ClusterUnavailable, InvalidModel, NotFound
from modelplane_api.outbox import repository as outbox_repo
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.registry import repository
from modelplane_api.registry.models import RegisteredModel, RegisteredVersion
from modelplane_api.registry.reconcile import mirror_version
from modelplane_api.registry.resources import (
    MISSING,
    PENDING,
    UNKNOWN,
    ObservedState,
    build_model_version,
    observe,
    resource_name,
    waiting,
)
from modelplane_api.registry.schemas import (
    ClusterEvent,
    Condition,
    ReferencePublic,
    VersionDetail,
    VersionOptions,
    VersionPublic,
)
from modelplane_api.registry.service import (
    get_model_or_404,
    organization_namespace,
    writable_namespace,
)
from modelplane_api.registry.uploads import (
    RegistryConfig,
    SpecParts,
    Submission,
    Upload,
    check,
    upload_slot,
)
from modelplane_api.storage import ArtifactStore, StoredObject, artifact_key
from modelplane_crds import labels
from modelplane_crds.model_version import Artifact, ModelVersionSpec, Provenance, ReferenceDataset

log = logging.getLogger("modelplane_api.registry")
VersionSort = Literal["version", "-version", "created_at", "-created_at"]
_VERSION_SORTABLE = {
    "version": RegisteredVersion.version,
    "created_at": RegisteredVersion.created_at,
}


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
    *,
    caller: ClusterCaller,
) -> tuple[VersionPublic, bool]:
    """Register an uploaded ONNX file as the model's next version; (version, pending)."""
    model = await get_model_or_404(session, organization_id, model_id)
    namespace = await writable_namespace(session, ctx.gateway, organization_id)
    upload = Submission(model_file, options, reference, reference_sha256)
    return await register(
        session, ctx, model, namespace, actor, upload, audit, commit, caller=caller
    )


@dataclass(frozen=True)
class RunProvenance:
    """The MLflow run a version is copied from, kept on its ModelVersion."""

    run_id: str
    experiment_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)


async def register(
    session: AsyncSession,
    ctx: AppContext,
    model: RegisteredModel,
    namespace: str,
    actor: uuid.UUID | None,
    upload: Submission,
    audit: AuditContext,
    commit: Commit,
    *,
    caller: ClusterCaller,
    run: RunProvenance | None = None,
) -> tuple[VersionPublic, bool]:
    """Check, store, commit, then apply one ONNX file of a model the caller may write to, in
    the order this module's docstring gives; (version, pending). The ModelVersion is read and
    applied as `caller`, and its outbox entry keeps whom to apply it as."""
    gateway = ctx.gateway.acting_as(caller)
    async with upload_slot(ctx.upload_slots, ctx.settings.max_concurrent_uploads):
        spec_parts = await check(upload, RegistryConfig.of(ctx))
    taken = await _taken_names(gateway, namespace, model.name)
    stored_keys: list[str] = []
    try:
        version, body = await _store_and_record(
            session, ctx, model, namespace, actor, upload, spec_parts, taken, stored_keys,
            run, caller,
        )  # fmt: skip
        _audit_version(audit, model, version, pending=taken is None)
        await commit()
    except BaseException:
        await _discard(ctx.artifacts, stored_keys)
        raise
    if taken is None:
        await mirror_version(ctx.mirror, version, namespace, model.name, ctx.clock())
        return _version_public(version, namespace, PENDING), True
    observed = await _apply_committed(session, gateway, body)
    await mirror_version(ctx.mirror, version, namespace, model.name, ctx.clock())
    return _version_public(version, namespace, observed), False


def _audit_version(
    audit: AuditContext, model: RegisteredModel, version: RegisteredVersion, *, pending: bool
) -> None:
    audit.resource_id = str(version.id)
    audit.after = {
        "model_id": str(model.id),
        "version": version.version,
        "resource_name": version.resource_name,
        "sha256": version.sha256,
        "size_bytes": version.size_bytes,
    }
    if pending:  # the cluster did not answer: the outbox applies it later
        audit.status_code = 202


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
    upload: Submission,
    parts: SpecParts,
    taken: set[str] | None,
    stored_keys: list[str],
    run: RunProvenance | None,
    caller: ClusterCaller,
) -> tuple[RegisteredVersion, dict[str, Any]]:
    """Stream the files to S3 (their keys appended to `stored_keys` as they are written), then
    allocate the number and add the version row and its outbox entry (not committed)."""
    stored, dataset = await _store(ctx.artifacts, namespace, model, upload, stored_keys)
    number = await _allocate_free_number(session, model, taken or set())
    spec = _declare(model, number, stored, dataset, parts, run)
    version = RegisteredVersion(
        id=uuid.uuid4(),
        organization_id=model.organization_id,
        model_id=model.id,
        version=number,
        resource_name=resource_name(model.name, number),
        description=upload.options.description,
        source="mlflow_run" if run else "upload",
        mlflow_run_id=run.run_id if run else None,
        artifact_uri=stored.uri,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        spec=spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
        created_by=actor,
    )
    session.add(version)
    body = build_model_version(version.resource_name, namespace, str(version.id), spec)
    await outbox_repo.enqueue(
        session, model.organization_id, MODEL_VERSION.plural, body, caller.to_wire()
    )
    await session.flush()
    await session.refresh(version)
    return version, body


async def _store(
    store: ArtifactStore,
    namespace: str,
    model: RegisteredModel,
    upload: Submission,
    stored_keys: list[str],
) -> tuple[StoredObject, ReferenceDataset | None]:
    """Stream the model file and the reference dataset into a fresh upload folder, each key
    appended to `stored_keys` before its write; 400 when the reference's digest is not the one
    the request gave."""
    upload_id = uuid.uuid4()
    key = artifact_key(namespace, model.id, upload_id, "model.onnx")
    stored_keys.append(key)
    stored = await store.put(key, upload.model_file.file, "application/octet-stream")
    if upload.reference is None:
        return stored, None
    key = artifact_key(namespace, model.id, upload_id, "reference.parquet")
    stored_keys.append(key)
    kept = await store.put(key, upload.reference.file, "application/vnd.apache.parquet")
    expected = upload.reference_sha256
    if expected is not None and kept.sha256 != expected.lower():
        raise InvalidModel(
            f"the reference dataset's sha256 is {kept.sha256}, the request says {expected}",
            {"reason": "DigestMismatch"},
        )
    return stored, ReferenceDataset(uri=kept.uri, sha256=kept.sha256, format="parquet")


def _declare(
    model: RegisteredModel,
    number: int,
    stored: StoredObject,
    dataset: ReferenceDataset | None,
    parts: SpecParts,
    run: RunProvenance | None,
) -> ModelVersionSpec:
    """The version's ModelVersion spec; 400 when the platform's CRD would not take it."""
    try:
        return ModelVersionSpec(
            model_name=model.name,
            version=str(number),
            artifact=Artifact(uri=stored.uri, sha256=stored.sha256),
            signature=parts.signature,
            features=parts.features,
            reference_dataset=dataset,
            provenance=Provenance(
                registry_name=model.name,
                registry_version=str(number),
                mlflow_run_id=run.run_id if run else None,
                mlflow_experiment_id=run.experiment_id if run else None,
                metrics=run.metrics if run and run.metrics else None,
            ),
        )
    except ValidationError as exc:
        raise InvalidModel(
            "the version cannot be declared: " + "; ".join(e["msg"] for e in exc.errors()),
            {"reason": "InvalidSpec"},
        ) from exc


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
        provenance=dict(spec.get("provenance") or {}),
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
        conditions=[Condition.of(c) for c in observed.conditions],
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
    observed, events = await _observed_one(session, gateway, namespace, version.resource_name)
    public = _version_public(version, namespace, observed)
    return VersionDetail(**public.model_dump(), events=[ClusterEvent.of(e) for e in events])


async def _observed_one(
    session: AsyncSession, gateway: ClusterGateway, namespace: str, name: str
) -> tuple[ObservedState, list[dict[str, Any]]]:
    """The cluster's view of one version and its Events (none while it waits in the outbox,
    is missing, or the cluster does not answer)."""
    queued = await outbox_repo.pending(session, MODEL_VERSION.plural, [(namespace, name)])
    if queued:
        entry = next(iter(queued.values()))
        return waiting(entry.last_error), []
    events: list[dict[str, Any]] = []
    try:
        observed = observe(await gateway.get(MODEL_VERSION, name, namespace))
        if observed is not MISSING:
            events = await gateway.events(namespace, "ModelVersion", name)
    except ClusterUnavailable:
        observed = UNKNOWN
    return observed, events
