"""Keeping the cluster and MLflow in step with the database, which is the record of every
version: `reconcile_once` (run periodically by the app, `main.py`) re-applies ModelVersions
that are missing or drifted, removes ones the facade applied for a version row that does not
exist, then `mirror_pending` creates the organizations' pending MLflow workspaces and mirrors
into MLflow what it has not taken yet. `mirror_version` is also how `versions` mirrors a
version right after registering it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.cluster import MODEL_VERSION, ORGANIZATION
from modelplane_api.context import AppContext
from modelplane_api.errors import (
    ClusterRejected,
    ClusterUnavailable,
    NamespaceNotReady,
    ServiceUnavailable,
)
from modelplane_api.mlflow_mirror import MirrorOutcome, RegistryMirror, note_failure
from modelplane_api.organizations.resources import gitops_owner
from modelplane_api.organizations.workspaces import create_pending as create_pending_workspaces
from modelplane_api.outbox import repository as outbox_repo
from modelplane_api.registry import repository
from modelplane_api.registry.models import RegisteredVersion
from modelplane_api.registry.resources import (
    VERSION_ID_ANNOTATION,
    build_model_version,
    namespace_of,
    observe,
    slug_of,
    spec_differs,
)
from modelplane_crds import labels
from modelplane_crds.model_version import ModelVersionSpec

log = logging.getLogger("modelplane_api.registry")


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
        outcome = note_failure(version, exc, now)
        log.warning(
            "version not mirrored to MLflow yet",
            extra={"object": f"{namespace}/{version.resource_name}", "error": exc.message},
        )
        return outcome
    version.mlflow_error, version.mlflow_next_attempt_at = None, None
    return "mirrored"


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
        cause = _drift(live.get(version.resource_name), version)
        if cause is None:
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


def _drift(obj: dict[str, Any] | None, version: RegisteredVersion) -> str | None:
    """Why the version's ModelVersion must be re-applied ("missing", "drifted"), or None."""
    if obj is None:
        return "missing"
    if spec_differs(obj, version.spec):
        return "drifted"
    return None


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
    """Create the organizations' MLflow workspaces still pending (`organizations.workspaces`),
    then mirror into MLflow the versions it has not taken yet and that are due; how many
    versions it took now. Each version retries on its own schedule; only an MLflow that does not
    answer at all ends the pass (it would not answer the next one either)."""
    await create_pending_workspaces(ctx)
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
