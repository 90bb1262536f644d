"""ModelDeployment: the kopf binding of the rollout reconcile (`rollout.reconcile`).

One timer per ModelDeployment drives everything, because rollouts are made of waiting: for pods
to become Ready, for a pause to end, for the next analysis interval. A kopf timer runs the
handler for one object strictly one call after another (change handlers would run beside it and
race on status), and its first call comes as soon as the object is seen — at creation and after
an operator restart alike. A settled deployment (Ready, no rollout, nothing asked) returns at
once without API calls, and is fully re-applied every `resync_interval_s`.

Errors (the idiom of `handlers.converged`): an invalid spec is `Stalled` (and not retried until
the spec changes); API trouble is `Reconciling`/`ProgressingWithRetry` and a `kopf.TemporaryError`
whose delay is the timer's interval, so the retry is the next tick (an unexpected exception backs
off by the same interval). The status is written through kopf's patch, together with the removal
of a consumed `modelplane.io/promote` annotation, in one request. Children are garbage-collected
through their ownerReferences.

Wire-up: `startup.register` binds the timer (every `rollout_interval_s`) and the clean-up, and
its start-up handler builds the shared `RolloutContext` into the memo (`startup.build_context`).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import kopf

from modelplane_crds.conditions import mark_retrying
from modelplane_crds.kinds import MODEL_DEPLOYMENT
from modelplane_crds.model_deployment import ModelDeploymentStatus
from modelplane_operator.cluster import Cluster, ClusterError
from modelplane_operator.context import OperatorContext
from modelplane_operator.handlers.converged import Converged
from modelplane_operator.metrics import CountingCluster
from modelplane_operator.rollout.drift_pause import DRIFT_PAUSE
from modelplane_operator.rollout.reconcile import (
    PROMOTE,
    RESUME,
    RolloutContext,
    reconcile,
    settled,
)

KIND = MODEL_DEPLOYMENT.kind


def rollout_context(memo: OperatorContext) -> RolloutContext:
    """The shared context (kopf gives each object a shallow copy of the start-up memo)."""
    found = memo.get("rollout")
    if not isinstance(found, RolloutContext):
        raise kopf.PermanentError("the start-up handler did not build the rollout context")
    return found


def _retrying(body: dict[str, Any], message: str, now: datetime) -> dict[str, Any]:
    raw = dict(body.get("status") or {})
    try:
        current = ModelDeploymentStatus.model_validate(raw).conditions
    except ValueError:
        current = []
    generation = int((body.get("metadata") or {}).get("generation") or 1)
    conditions = mark_retrying(current, "ApiUnavailable", message[:2000], generation, now)
    return {"conditions": [c.to_wire() for c in conditions]}


def converge_model_deployment(
    cluster: Cluster, ctx: RolloutContext, body: dict[str, Any], now: datetime
) -> Converged:
    """One rollout pass: the status to write, the annotations it consumed, and on API trouble a
    retry at the next tick."""
    try:
        result = reconcile(cluster, ctx, body, now)
    except ClusterError as exc:
        retry = kopf.TemporaryError(str(exc), delay=ctx.settings.rollout_interval_s)
        return Converged(_retrying(body, str(exc), now), retry)
    # A resume also ends a DriftMonitor's pause: its request goes with the person's signal.
    consumed = (PROMOTE, RESUME, DRIFT_PAUSE) if result.consume_promote else ()
    return Converged(result.status, drop_annotations=consumed)


async def reconcile_model_deployment(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, **_: Any
) -> None:
    """Converge the serving children to the spec and move the rollout on."""
    ctx = rollout_context(memo)
    uid = body.metadata.uid or ""
    tick = time.monotonic()
    last = ctx.last_full.get(uid)
    if last is not None and settled(body) and tick - last < ctx.settings.resync_interval_s:
        return
    if last is None or tick - last >= ctx.settings.resync_interval_s:
        for child in [k for k in ctx.applied if k[0] == uid]:
            ctx.applied.pop(child, None)
    now = datetime.now(UTC)
    with memo.metrics.track(KIND, uid):
        cluster = CountingCluster(memo.cluster, ctx.metrics)
        ctx.metrics.passes.inc()
        converged = await asyncio.to_thread(
            converge_model_deployment, cluster, ctx, dict(body), now
        )
    if converged.error is None:
        ctx.last_full[uid] = tick
    # Written (and raised) outside `track`: a pass that met API trouble did its work and counts as
    # done; its retry is simply the next tick.
    converged.write(patch, body.metadata.annotations)


def forget_model_deployment(body: kopf.Body, memo: OperatorContext, **_: Any) -> None:
    """Drop in-memory state of a deleted deployment (its children go by garbage collection)."""
    ctx = rollout_context(memo)
    meta = body.metadata
    ctx.forget(meta.uid or "", meta.namespace or "", meta.name or "")
    memo.metrics.forget(KIND, meta.uid or "")
