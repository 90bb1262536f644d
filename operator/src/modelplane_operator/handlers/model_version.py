"""ModelVersion: verify the artifact once, report it in conditions, keep `usedBy` current.

The spec is immutable, so a version verified for its generation is never downloaded again: a
resume after a restart, a label change or a `usedBy` update only refresh `usedBy`. Failures that
a retry can fix (S3 down, timeouts) set `Reconciling` and raise `kopf.TemporaryError` with an
exponential delay; failures that only a new ModelVersion can fix (wrong digest, not ONNX, wrong
signature, too large, missing object) set `Stalled` and raise `kopf.PermanentError`. Each
outcome is also a Kubernetes Event on the object.

`usedBy` is computed from the ModelDeployments in the namespace: on every ModelVersion pass, and
from a stateless event handler on ModelDeployments when their references change (one sync per
namespace at a time; a burst of changes is folded into one more round). It names at most 256
deployments, sorted; `usedByCount` counts them all, so the status stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import kopf

from modelplane_crds.conditions import (
    READY,
    STALLED,
    Condition,
    get_condition,
    is_true,
    mark_ready,
    mark_retrying,
    mark_stalled,
    set_condition,
)
from modelplane_crds.kinds import MODEL_DEPLOYMENT, MODEL_VERSION
from modelplane_crds.model_version import (
    ARTIFACT_UNREACHABLE,
    ARTIFACT_VERIFIED,
    SIGNATURE_MISMATCH,
    SIGNATURE_VALID,
    VERIFIED,
    ModelVersionSpec,
)
from modelplane_operator.artifacts import ArtifactProblem, VerifiedArtifact, verify_artifact
from modelplane_operator.builders import model_version as builders
from modelplane_operator.cluster import Cluster, ClusterError
from modelplane_operator.context import OperatorContext
from modelplane_operator.handlers.converged import (
    Converged,
    backoff,
    conditions_of,
    conditions_wire,
)
from modelplane_operator.settings import Settings

KIND = MODEL_VERSION.kind
API_VERSION = MODEL_VERSION.api_version
NOT_VERIFIED = "ArtifactNotVerified"

Verify = Callable[[ModelVersionSpec], VerifiedArtifact]


def _users(cluster: Cluster, namespace: str, name: str) -> list[str]:
    deployments = cluster.list(API_VERSION, MODEL_DEPLOYMENT.kind, namespace)
    return builders.used_by(deployments, name)


def already_settled(status: dict[str, Any] | None, spec_sha: str, generation: int) -> bool:
    """Whether this generation was verified (Ready with the same digest) or failed for a
    reason retrying cannot change; then the artifact is not fetched again."""
    conditions = conditions_of(status)
    ready = get_condition(conditions, READY)
    if ready is None or (ready.observed_generation or 0) != generation:
        return False
    if ready.status == "True":
        return (status or {}).get("verifiedSha256") == spec_sha
    stalled = get_condition(conditions, STALLED)
    return (
        is_true(conditions, STALLED)
        and stalled is not None
        and (stalled.reason != ARTIFACT_UNREACHABLE)
    )


def converge_model_version(
    cluster: Cluster,
    verify: Verify,
    body: dict[str, Any],
    settings: Settings,
    retry: int,
    now: datetime,
) -> Converged:
    """One pass: the status to write, and whether to retry or give up."""
    meta = body["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    generation = int(meta.get("generation") or 1)
    status = dict(body.get("status") or {})
    conditions = conditions_of(status)
    try:
        users = _users(cluster, namespace, name)
    except ClusterError as exc:
        delay = backoff(retry, settings.retry_delay_s, settings.retry_max_delay_s)
        return Converged({}, kopf.TemporaryError(str(exc), delay=delay))
    try:
        spec = ModelVersionSpec.model_validate(body.get("spec") or {})
    except ValueError as exc:
        stalled = mark_stalled(conditions, "InvalidSpec", str(exc), generation, now)
        result = {"observedGeneration": generation, **builders.used_by_status(users)}
        result["conditions"] = conditions_wire(stalled)
        return Converged(result, kopf.PermanentError(str(exc)))
    if already_settled(status, spec.artifact.sha256, generation):
        changed = builders.used_by_changed(status, users)
        return Converged(builders.used_by_status(users) if changed else {})
    try:
        verified = verify(spec)
    except ArtifactProblem as problem:
        return _failure(cluster, body, conditions, problem, users, generation, retry, settings, now)
    _event(cluster, body, "Normal", VERIFIED, f"artifact verified, sha256 {verified.sha256}")
    return Converged(
        {
            "observedGeneration": generation,
            "verifiedSha256": verified.sha256,
            "sizeBytes": verified.size_bytes,
            **builders.used_by_status(users),
            "conditions": conditions_wire(_verified(conditions, verified, generation, now)),
        }
    )


def _verified(
    conditions: list[Condition], verified: VerifiedArtifact, generation: int, now: datetime
) -> list[Condition]:
    """Digest and signature verified: ready."""
    conditions = set_condition(
        conditions,
        ARTIFACT_VERIFIED,
        "True",
        VERIFIED,
        f"sha256 {verified.sha256} verified ({verified.size_bytes} bytes)",
        generation,
        now,
    )
    conditions = set_condition(
        conditions,
        SIGNATURE_VALID,
        "True",
        VERIFIED,
        "signature matches the graph",
        generation,
        now,
    )
    return mark_ready(conditions, VERIFIED, "artifact and signature verified", generation, now)


def _failure(
    cluster: Cluster,
    body: dict[str, Any],
    conditions: list[Any],
    problem: ArtifactProblem,
    users: list[str],
    generation: int,
    retry: int,
    settings: Settings,
    now: datetime,
) -> Converged:
    if problem.reason == SIGNATURE_MISMATCH:
        conditions = set_condition(
            conditions, ARTIFACT_VERIFIED, "True", VERIFIED, "digest verified", generation, now
        )
        conditions = set_condition(
            conditions, SIGNATURE_VALID, "False", problem.reason, problem.message, generation, now
        )
    else:
        conditions = set_condition(
            conditions, ARTIFACT_VERIFIED, "False", problem.reason, problem.message, generation, now
        )
        conditions = set_condition(
            conditions,
            SIGNATURE_VALID,
            "Unknown",
            NOT_VERIFIED,
            "the artifact was not verified",
            generation,
            now,
        )
    status: dict[str, Any] = {"observedGeneration": generation, **builders.used_by_status(users)}
    if problem.transient:
        conditions = mark_retrying(conditions, problem.reason, problem.message, generation, now)
        status["conditions"] = conditions_wire(conditions)
        if retry == 0 or retry % 5 == 0:
            _event(cluster, body, "Warning", problem.reason, f"will retry: {problem.message}")
        delay = backoff(retry, settings.retry_delay_s, settings.retry_max_delay_s)
        return Converged(status, kopf.TemporaryError(problem.message, delay=delay))
    conditions = mark_stalled(conditions, problem.reason, problem.message, generation, now)
    status["conditions"] = conditions_wire(conditions)
    _event(cluster, body, "Warning", problem.reason, problem.message)
    return Converged(status, kopf.PermanentError(f"{problem.reason}: {problem.message}"))


def _event(cluster: Cluster, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
    with contextlib.suppress(ClusterError):  # an event is a courtesy; never fail over it
        cluster.event(body, type_, reason, message)


async def reconcile_model_version(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, retry: int, **_: Any
) -> None:
    """Verify the artifact and signature once per generation; keep `usedBy` current."""
    uid = body.metadata.uid or body.metadata.name or ""

    def verify(spec: ModelVersionSpec) -> VerifiedArtifact:
        verified = verify_artifact(memo.fetcher, spec, memo.limits)
        memo.metrics.artifact_bytes.inc(verified.size_bytes)
        return verified

    with memo.metrics.track(KIND, uid):
        converged = await asyncio.to_thread(
            converge_model_version,
            memo.cluster,
            verify,
            dict(body),
            memo.settings,
            retry,
            datetime.now(UTC),
        )
        converged.write(patch, body.metadata.annotations)


def forget_model_version(body: kopf.Body, memo: OperatorContext, **_: Any) -> None:
    """A deleted version no longer waits for a retry (keeps the queue-depth gauge honest)."""
    memo.metrics.forget(KIND, body.metadata.uid or body.metadata.name or "")


def sync_used_by(cluster: Cluster, namespace: str) -> int:
    """Recompute `usedBy` of every ModelVersion in a namespace; return how many changed."""
    deployments = cluster.list(API_VERSION, MODEL_DEPLOYMENT.kind, namespace)
    changed = 0
    for version in cluster.list(API_VERSION, KIND, namespace):
        name = version["metadata"]["name"]
        users = builders.used_by(deployments, name)
        if builders.used_by_changed(version.get("status"), users):
            patch = builders.used_by_status(users)
            cluster.patch_status(API_VERSION, KIND, name, namespace, patch)
            changed += 1
    return changed


def _refs(body: dict[str, Any]) -> frozenset[str]:
    spec = body.get("spec") or {}
    names = {
        ((spec.get(field) or {}).get("modelVersionRef") or {}).get("name")
        for field in ("stable", "candidate")
    }
    return frozenset(n for n in names if n)


async def track_deployment_references(
    body: kopf.Body, type: str | None, memo: OperatorContext, logger: Any, **_: Any
) -> None:
    """When a ModelDeployment's references change (or it goes), refresh `usedBy` in its
    namespace. Stateless: no finalizer or annotation is put on ModelDeployments."""
    uid = body.metadata.uid or ""
    namespace = body.metadata.namespace
    if namespace is None:
        return
    gone = type == "DELETED" or bool(body.metadata.get("deletionTimestamp"))
    refs = frozenset() if gone else _refs(dict(body))
    seen: dict[str, frozenset[str]] = memo.deployment_refs
    if seen.get(uid) == refs and not gone:
        return
    if gone:
        seen.pop(uid, None)
    else:
        seen[uid] = refs
    # One sync per namespace at a time: changes that arrive meanwhile (a burst of new
    # deployments) are folded into one more round, instead of one full listing each.
    syncing: dict[str, bool] = memo.used_by_syncs
    if namespace in syncing:
        syncing[namespace] = True
        return
    syncing[namespace] = False
    try:
        while True:
            try:
                await asyncio.to_thread(sync_used_by, memo.cluster, namespace)
            except ClusterError as exc:
                logger.warning("could not refresh usedBy in %s: %s", namespace, exc)
                seen.clear()  # the next ModelDeployment event anywhere tries again
                return
            if not syncing[namespace]:
                return
            syncing[namespace] = False
    finally:
        syncing.pop(namespace, None)
