"""ModelDeployment: the kopf binding of the rollout reconcile (`rollout.reconcile`).

One timer per ModelDeployment drives everything, because rollouts are made of waiting: for pods
to become Ready, for a pause to end, for the next analysis interval. A kopf timer runs the
handler for one object strictly one call after another (change handlers would run beside it and
race on status), and its first call comes as soon as the object is seen — at creation and after
an operator restart alike. A settled deployment (Ready, no rollout, nothing asked) returns at
once without API calls, and is fully re-applied every `resync_interval_s`.

Errors: an invalid spec is `Stalled` (and not retried until the spec changes); API trouble is
`Reconciling`/`ProgressingWithRetry` and the next tick retries. The status is written through
kopf's patch, together with the removal of a consumed `modelplane.io/promote` annotation, in one
request. Children are garbage-collected through their ownerReferences.

Wire-up: `startup.register` calls `register_model_deployment(registry)` for the timer and the
clean-up, and its start-up handler builds the shared `RolloutContext` into the memo.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import kopf

from modelplane_crds.base import GROUP, VERSION
from modelplane_crds.conditions import mark_retrying
from modelplane_crds.model_deployment import ModelDeploymentStatus
from modelplane_operator.cluster import ClusterError
from modelplane_operator.context import OperatorContext
from modelplane_operator.deployment import kinds  # noqa: F401 - registers the serving kinds
from modelplane_operator.deployment.builders import RuntimeConfig
from modelplane_operator.rollout.metrics import CountingCluster, rollout_metrics
from modelplane_operator.rollout.reconcile import (
    PROMOTE,
    RESUME,
    RolloutContext,
    reconcile,
    settled,
)
from modelplane_operator.rollout.settings import RolloutSettings

KIND = "ModelDeployment"
PLURAL = "modeldeployments"


def build_rollout_context(memo: OperatorContext) -> RolloutContext:
    """The handler's long-lived state, made at start-up beside the core memo."""
    settings = RolloutSettings()
    return RolloutContext(
        settings=settings,
        runtime=RuntimeConfig(
            image=memo.settings.default_runtime_image,
            s3_endpoint_url=settings.runtime_s3_endpoint_url,
            mlflow_tracking_uri=settings.runtime_mlflow_tracking_uri,
            payload_bucket=settings.payload_bucket,
            max_graph_nodes=memo.settings.max_graph_nodes,
            allowed_domains=tuple(memo.settings.allowed_opset_domains),
            node_selector=dict(settings.serving_node_selector),
            tolerations=tuple(settings.serving_tolerations),
            gateway_name=settings.gateway_name,
            gateway_namespace=settings.gateway_namespace,
        ),
        metrics=rollout_metrics(memo.metrics.registry),
    )


def rollout_context(memo: OperatorContext) -> RolloutContext:
    """The shared context (kopf gives each object a shallow copy of the start-up memo)."""
    found = memo.get("rollout")
    if not isinstance(found, RolloutContext):
        raise kopf.PermanentError("the start-up handler did not build the rollout context")
    return found


def _retrying(body: kopf.Body, message: str, now: datetime) -> dict[str, Any]:
    raw = dict(body.get("status") or {})
    try:
        current = ModelDeploymentStatus.model_validate(raw).conditions
    except ValueError:
        current = []
    generation = int(body.metadata.get("generation") or 1)
    conditions = mark_retrying(current, "ApiUnavailable", message[:2000], generation, now)
    return {"conditions": [c.to_wire() for c in conditions]}


async def reconcile_model_deployment(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, logger: Any, **_: Any
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
        try:
            cluster = CountingCluster(memo.cluster, ctx.metrics)
            ctx.metrics.passes.inc()
            result = await asyncio.to_thread(reconcile, cluster, ctx, dict(body), now)
        except ClusterError as exc:
            logger.warning("API trouble, retrying next tick: %s", exc)
            patch.status.update(_retrying(body, str(exc), now))
            return
    ctx.last_full[uid] = tick
    patch.status.update(result.status)
    if result.consume_promote:
        annotations = body.metadata.annotations
        for key in (PROMOTE, RESUME):
            if key in annotations:
                patch.metadata.setdefault("annotations", {})[key] = None


def forget_model_deployment(body: kopf.Body, memo: OperatorContext, **_: Any) -> None:
    """Drop in-memory state of a deleted deployment (its children go by garbage collection)."""
    ctx = rollout_context(memo)
    meta = body.metadata
    ctx.forget(meta.uid or "", meta.namespace or "", meta.name or "")
    memo.metrics.forget(KIND, meta.uid or "")


def register_model_deployment(registry: kopf.OperatorRegistry) -> None:
    """Register the ModelDeployment timer and clean-up on `registry` (the rollout context is
    built by the core start-up handler, `startup.build_context`)."""
    interval = RolloutSettings().rollout_interval_s
    resource = (GROUP, VERSION, PLURAL)

    kopf.timer(
        *resource,
        interval=interval,
        errors=kopf.ErrorsMode.IGNORED,
        registry=registry,
    )(reconcile_model_deployment)
    kopf.on.delete(*resource, optional=True, registry=registry)(forget_model_deployment)
