"""DriftMonitor → a CronJob running the drift job, with its own ServiceAccount and Role.

One level-based reconcile, run on create, update, resume and a timer (the timer notices the
watched deployment appearing, disappearing or turning payload logging off). While the
deployment is missing or logs nothing the monitor is Stalled and its CronJob suspended, so no
job runs only to fail; it resumes by itself once the deployment is there. The job writes each
evaluation into the status; `observe_drift_monitor` (every watch event) turns it into the
`DriftDetected` and `InsufficientData` conditions, so conditions have one writer, the operator,
and carries out `actions.onDatasetDrift` (`pause_rollouts`, condition `RolloutsPaused`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import kopf

from modelplane_crds.conditions import (
    PROGRESSING_WITH_RETRY,
    Condition,
    mark_ready,
    mark_retrying,
    mark_stalled,
)
from modelplane_crds.drift_monitor import (
    DEPLOYMENT_NOT_FOUND,
    PAYLOAD_LOGGING_OFF,
    SCHEDULED,
    SUSPENDED,
    DriftMonitorSpec,
)
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.kinds import DRIFT_MONITOR, MODEL_DEPLOYMENT, MODEL_VERSION
from modelplane_crds.quality import QualityEvaluation
from modelplane_operator.alerts import recorded
from modelplane_operator.builders import drift_credentials as credentials
from modelplane_operator.builders import drift_monitor as builders
from modelplane_operator.cluster import Cluster, ClusterError, owner_reference
from modelplane_operator.context import OperatorContext
from modelplane_operator.drift.monitor import payload_bucket, reference_uri, serving_stable_version
from modelplane_operator.handlers.converged import (
    Converged,
    backoff,
    conditions_of,
    conditions_wire,
)
from modelplane_operator.rollout import drift_pause
from modelplane_operator.sts import CredentialsError

KIND = DRIFT_MONITOR.kind
REFRESH_MARGIN = timedelta(seconds=builders.JOB_DEADLINE_S + 600)
"""New credentials once less than this is left: a job started now ends before they expire."""


class CredentialMinter(Protocol):
    """Mints temporary S3 credentials limited to a session policy (`sts.StsMinter`)."""

    def mint(self, session_name: str, policy: str) -> credentials.TemporaryCredentials: ...


def converge_drift_monitor(
    cluster: Cluster,
    body: dict[str, Any],
    config: builders.JobConfig,
    retry: int,
    now: datetime,
    delays: tuple[float, float] = (5.0, 300.0),
    minter: CredentialMinter | None = None,
) -> Converged:
    """Apply the job's children (and, with a `minter`, its own S3 credentials); return the
    status to write and whether to retry."""
    generation = int(body["metadata"].get("generation") or 1)
    conditions = conditions_of(body.get("status"))
    try:
        spec = DriftMonitorSpec.model_validate(body.get("spec") or {})
    except ValueError as exc:
        stalled = mark_stalled(conditions, "InvalidSpec", str(exc)[:1024], generation, now)
        return _result(stalled, generation, body, now, kopf.PermanentError(str(exc)[:200]))
    try:
        deployment = _deployment(cluster, body, spec)
        blocker = _blocker(body, spec, config, deployment)
        if blocker is None and minter is not None and deployment is not None:
            ensure_credentials(cluster, body, spec, config, deployment, minter, now)
        _apply_children(cluster, body, spec, config, suspend=blocker is not None or spec.suspend)
    except (ClusterError, CredentialsError) as exc:
        delay = backoff(retry, *delays)
        waiting = mark_retrying(conditions, PROGRESSING_WITH_RETRY, str(exc), generation, now)
        return _result(waiting, generation, body, now, kopf.TemporaryError(str(exc), delay=delay))
    if blocker is not None:
        reason, message = blocker
        stalled = mark_stalled(conditions, reason, message, generation, now)
        # Not permanent: the deployment may appear; the timer looks again.
        return _result(stalled, generation, body, now)
    if spec.suspend:
        message = "suspended: no evaluation is scheduled; the last results stay"
        return _result(mark_ready(conditions, SUSPENDED, message, generation, now), generation,
                       body, now)  # fmt: skip
    message = f"evaluates the last {spec.window.size} on schedule {spec.schedule!r} (UTC)"
    return _result(
        mark_ready(conditions, SCHEDULED, message, generation, now), generation, body, now
    )


def _deployment(
    cluster: Cluster, body: dict[str, Any], spec: DriftMonitorSpec
) -> dict[str, Any] | None:
    namespace = body["metadata"]["namespace"]
    return cluster.get(
        MODEL_DEPLOYMENT.api_version, MODEL_DEPLOYMENT.kind, spec.deployment_ref.name, namespace
    )


def _blocker(
    body: dict[str, Any],
    spec: DriftMonitorSpec,
    config: builders.JobConfig,
    deployment: dict[str, Any] | None,
) -> tuple[str, str] | None:
    """Why no evaluation can run now (reason, message), or None."""
    name = spec.deployment_ref.name
    namespace = body["metadata"]["namespace"]
    if deployment is None:
        return DEPLOYMENT_NOT_FOUND, f"ModelDeployment {name!r} not found in {namespace}"
    logging_ = (deployment.get("spec") or {}).get("payloadLogging") or {}
    if not logging_ or float(logging_.get("sampleRate", 1.0)) <= 0:
        return PAYLOAD_LOGGING_OFF, (
            f"ModelDeployment {name!r} logs no payloads: set spec.payloadLogging (sampleRate > 0)"
        )
    if not logging_.get("uri") and not config.payload_bucket:
        return PAYLOAD_LOGGING_OFF, (
            f"ModelDeployment {name!r} has no payloadLogging.uri and the operator no payload"
            " bucket (MODELPLANE_OPERATOR_PAYLOAD_BUCKET)"
        )
    return None


def ensure_credentials(
    cluster: Cluster,
    body: dict[str, Any],
    spec: DriftMonitorSpec,
    config: builders.JobConfig,
    deployment: dict[str, Any],
    minter: CredentialMinter,
    now: datetime,
) -> None:
    """Mint the job's own credentials into its Secret when it has none yet, their scope changed
    (a new stable version's reference) or they expire within the job's deadline and a margin;
    the monitor's annotations remember what was minted (the operator cannot read Secrets)."""
    policy = credentials.access_policy(_access_scope(cluster, body, spec, config, deployment))
    digest = credentials.policy_digest(policy)
    annotations = _annotations(body)
    if not credentials.credentials_due(annotations, digest, now, REFRESH_MARGIN):
        return
    meta = body["metadata"]
    minted = minter.mint(
        f"drift-{meta['namespace']}-{meta['name']}", credentials.policy_text(policy)
    )
    itself = {**body, "apiVersion": DRIFT_MONITOR.api_version, "kind": KIND}
    cluster.apply(
        credentials.build_credentials_secret(body, owner_reference(itself), minted, digest)
    )
    # Remembered once the Secret holds them: a crash in between mints again.
    cluster.annotate(itself, credentials.minted_annotations(minted, digest))


def _access_scope(
    cluster: Cluster,
    body: dict[str, Any],
    spec: DriftMonitorSpec,
    config: builders.JobConfig,
    deployment: dict[str, Any],
) -> credentials.AccessScope:
    """Where the job reads and writes: the deployment's bucket and prefix, the reference (the
    monitor's, else the stable version's, as the job resolves it) and the monitor's own."""
    meta = body["metadata"]
    name = spec.deployment_ref.name
    deployment_spec = deployment.get("spec") or {}
    version = cluster.get(
        MODEL_VERSION.api_version,
        MODEL_VERSION.kind,
        serving_stable_version(deployment),
        meta["namespace"],
    )
    return credentials.AccessScope(
        bucket=payload_bucket(deployment_spec, name, config.payload_bucket),
        namespace=meta["namespace"],
        deployment=name,
        monitor=meta["name"],
        reference_uri=reference_uri(body.get("spec") or {}, (version or {}).get("spec") or {}),
    )


def _apply_children(
    cluster: Cluster,
    body: dict[str, Any],
    spec: DriftMonitorSpec,
    config: builders.JobConfig,
    *,
    suspend: bool,
) -> None:
    """ServiceAccount, Role, RoleBinding, then the CronJob (built first, applied in order)."""
    owner = owner_reference({**body, "apiVersion": DRIFT_MONITOR.api_version, "kind": KIND})
    children = [
        builders.build_service_account(body, owner),
        builders.build_role(body, owner, spec),
        builders.build_role_binding(body, owner),
        builders.build_cron_job(body, owner, spec, config, suspend=suspend),
    ]
    for child in children:
        cluster.apply(child)


def _result(
    conditions: list[Condition],
    generation: int,
    body: dict[str, Any],
    now: datetime,
    error: kopf.TemporaryError | kopf.PermanentError | None = None,
) -> Converged:
    """The status with the evaluation's conditions kept in step with it."""
    full = builders.result_conditions(conditions, _evaluation(body), generation, now)
    full = builders.quality_conditions(full, _quality(body), generation, now)
    status = {"observedGeneration": generation, "conditions": conditions_wire(full)}
    return Converged(status, error)


def _quality(body: dict[str, Any]) -> QualityEvaluation | None:
    """The serving version's last scored window, while the monitor asks for quality."""
    return _quality_of(body, (body.get("status") or {}).get("lastQuality"))


def _candidate_quality(body: dict[str, Any]) -> QualityEvaluation | None:
    """The candidate's quality beside the stable's, during a rollout."""
    candidate = (body.get("status") or {}).get("candidateEvaluation") or {}
    return _quality_of(body, candidate.get("quality"))


def _quality_of(body: dict[str, Any], raw: Any) -> QualityEvaluation | None:
    spec = _spec(body)
    if not raw or spec is None or spec.quality is None:
        return None
    try:
        return QualityEvaluation.model_validate(raw)
    except ValueError:
        return None


def _evaluation(body: dict[str, Any]) -> DriftEvaluation | None:
    raw = (body.get("status") or {}).get("lastEvaluation")
    if not raw:
        return None
    try:
        return DriftEvaluation.model_validate(raw)
    except ValueError:
        return None


async def reconcile_drift_monitor(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, retry: int = 0, **_: Any
) -> None:
    """Converge the monitor's CronJob and identity; report in conditions."""
    uid = body.metadata.uid or body.metadata.name or ""
    settings = memo.settings
    with memo.metrics.track(KIND, uid):
        converged = await asyncio.to_thread(
            converge_drift_monitor,
            memo.cluster,
            dict(body),
            memo.drift_job,
            retry,
            datetime.now(UTC),
            (settings.retry_delay_s, settings.retry_max_delay_s),
            memo.drift_credentials,
        )
        await converged.report(memo.cluster, body, patch)


def _spec(body: dict[str, Any]) -> DriftMonitorSpec | None:
    try:
        return DriftMonitorSpec.model_validate(body.get("spec") or {})
    except ValueError:
        return None


def _annotations(body: dict[str, Any]) -> dict[str, str]:
    return dict((body.get("metadata") or {}).get("annotations") or {})


def result_patch(body: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The conditions patch when the job's last evaluation (and the action taken on it) is not
    yet reflected in them."""
    generation = int(body["metadata"].get("generation") or 1)
    current = conditions_of(body.get("status"))
    evaluation = _evaluation(body)
    wanted = builders.result_conditions(current, evaluation, generation, now)
    wanted = builders.quality_conditions(wanted, _quality(body), generation, now)
    spec = _spec(body)
    if spec is not None:
        found = (evaluation, _candidate_quality(body))
        wanted = drift_pause.rollouts_paused_condition(
            wanted, spec, found, _annotations(body), generation, now
        )
    if conditions_wire(wanted) == conditions_wire(current):
        return None
    return {"conditions": conditions_wire(wanted)}


def _pauses_due(
    spec: DriftMonitorSpec, body: dict[str, Any]
) -> list[Callable[[dict[str, Any] | None], drift_pause.DriftPause | None]]:
    """The pauses the last results call for and not yet asked for (drift, then quality), each
    as the request to make given the deployment."""
    name, annotations = body["metadata"]["name"], _annotations(body)
    evaluation, quality = _evaluation(body), _candidate_quality(body)
    due: list[Callable[[dict[str, Any] | None], drift_pause.DriftPause | None]] = []
    if evaluation is not None and drift_pause.pause_due(
        spec, evaluation, annotations.get(drift_pause.PAUSED_FOR)
    ):
        due.append(lambda deployment: drift_pause.pause_request(name, evaluation, deployment))
    if quality is not None and drift_pause.quality_pause_due(
        spec, quality, annotations.get(drift_pause.QUALITY_PAUSED_FOR)
    ):
        due.append(lambda deployment: drift_pause.quality_pause_request(name, quality, deployment))
    return due


def pause_rollouts(cluster: Cluster, body: dict[str, Any]) -> list[drift_pause.DriftPause]:
    """`onDatasetDrift` / `onQualityDegraded: pauseRollouts`: ask the deployment's rollout pass
    to pause its canary, once per drifted evaluation and once per degraded scored window of the
    candidate (see `rollout.drift_pause`); the pauses it asked for."""
    spec = _spec(body)
    due = _pauses_due(spec, body) if spec is not None else []
    if spec is None or not due:
        return []
    meta = body["metadata"]
    deployment_name = spec.deployment_ref.name
    deployment = cluster.get(
        MODEL_DEPLOYMENT.api_version, MODEL_DEPLOYMENT.kind, deployment_name, meta["namespace"]
    )
    if deployment is None:  # nothing in progress: nothing to pause
        return []
    pauses = [pause for request in due if (pause := request(deployment)) is not None]
    itself = {**body, "apiVersion": DRIFT_MONITOR.api_version, "kind": KIND}
    for pause in pauses:
        cluster.annotate(deployment, {drift_pause.DRIFT_PAUSE: pause.annotation()})
        # Remembered only once the request is on the deployment: a crash in between asks again.
        cluster.annotate(itself, {pause.memory(): pause.window_end})
        cluster.event(
            itself,
            "Warning",
            drift_pause.ROLLOUTS_PAUSED,
            f"pausing the rollout of {pause.candidate} on ModelDeployment {deployment_name}:"
            f" {pause.finding()} in the window ending {pause.window_end}",
        )
    return pauses


async def observe_drift_monitor(
    body: kopf.Body, memo: OperatorContext, logger: Any, **_: Any
) -> None:
    """Every watch event: turn a new evaluation (written by the job) into conditions and
    metrics."""
    if body.metadata.get("deletionTimestamp"):
        return
    namespace, name = body.metadata.namespace or "", body.metadata.name or ""
    memo.metrics.drift_alerts.record(namespace, name, recorded(body.get("status")))
    memo.metrics.drift.record(namespace, name, _evaluation(dict(body)))
    memo.metrics.quality.record(
        namespace, name, _quality(dict(body)), _candidate_quality(dict(body))
    )
    try:
        await asyncio.to_thread(pause_rollouts, memo.cluster, dict(body))
    except ClusterError as exc:  # the next event tries again (the evaluation stays in status)
        logger.warning("rollout not paused yet: %s", exc)
    status = result_patch(dict(body), datetime.now(UTC))
    if status is None:
        return
    try:
        await asyncio.to_thread(
            memo.cluster.patch_status,
            DRIFT_MONITOR.api_version,
            KIND,
            name,
            namespace,
            status,
        )
    except ClusterError as exc:  # the next event or the timer's pass tries again
        logger.warning("drift conditions not written yet: %s", exc)


async def forget_drift_monitor(body: kopf.Body, memo: OperatorContext, **_: Any) -> None:
    """A deleted monitor's series go; its children go with it (ownerReferences)."""
    namespace, name = body.metadata.namespace or "", body.metadata.name or ""
    memo.metrics.drift_alerts.forget(namespace, name)
    memo.metrics.drift.forget(namespace, name)
    memo.metrics.quality.forget(namespace, name)
    memo.metrics.forget(KIND, body.metadata.uid or body.metadata.name or "")
