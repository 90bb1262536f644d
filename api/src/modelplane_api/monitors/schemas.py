"""Request and response bodies of drift monitors. The spec is the DriftMonitor's own (one
shape per kind: `modelplane_crds.drift_monitor.DriftMonitorSpec`, camelCase as in YAML)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from modelplane_api.schemas import InputSchema, OutputSchema
from modelplane_crds.drift_monitor import DriftMonitorSpec

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class MonitorCreate(InputSchema):
    name: str = Field(min_length=1, max_length=63, pattern=NAME_PATTERN)
    """The DriftMonitor's name in the organization's namespace."""
    spec: DriftMonitorSpec
    """What `kubectl apply` would take: `deploymentRef`, `schedule`, `window`, `features`, …"""


class MonitorUpdate(InputSchema):
    spec: DriftMonitorSpec
    """The whole new spec, as `kubectl apply` of the changed YAML would take it: fields left out
    go back to their defaults (or are removed), the results in `status` stay."""
    generation: int | None = Field(default=None, ge=1)
    """The monitor's `generation` as read (`MonitorPublic.generation`): when given, an update
    of a spec that changed since is refused with 409 `conflict` (`details.reason`
    `MonitorChanged`) and nothing is written. Left out, the update replaces whatever spec is
    there (last writer wins, as `kubectl apply`)."""


class EvaluationSummaryPublic(OutputSchema):
    """One past evaluation in a line (`status.recentEvaluations[]`)."""

    window_end: datetime
    model_version: str
    role: Literal["stable", "candidate"]
    """`stable`: the serving version's evaluation (what conditions and alerts follow);
    `candidate`: the version being rolled out, over the same window, reported only."""
    samples: int
    share: float | None
    """Share of drifted features (0 to 1); absent when no decision was made."""
    drifted: bool
    insufficient_data: bool


class EvaluationFailurePublic(OutputSchema):
    """The last run that could not evaluate (`status.lastFailure`)."""

    time: datetime
    reason: str
    message: str


class AlertDeliveryPublic(OutputSchema):
    """What became of one sink's alert (`status.alerts[]`)."""

    sink: int
    """Index of the sink in `spec.alerts`."""
    type: Literal["webhook", "alertmanager"]
    alert: Literal["drift", "quality"] = "drift"
    """Which alert: dataset drift or live quality outside its thresholds."""
    state: Literal["firing", "resolved"]
    outcome: Literal["Delivered", "Failed"]
    reason: str
    message: str
    attempts: int
    time: datetime


class MonitorPublic(OutputSchema):
    name: str
    namespace: str
    deployment: str
    spec: dict[str, Any]
    generation: int | None
    """The spec's version (`metadata.generation`): it moves when the spec changes, not when
    results are written. Send it back with an update to refuse one made over a newer spec."""
    state: str
    """`ready`, `stalled` (with reason), `reconciling`, or `pending` before the operator saw it."""
    reason: str | None
    message: str | None
    conditions: list[dict[str, Any]]
    last_evaluation: dict[str, Any] | None
    """The latest results: window, samples, per-feature statistic, p-value and verdict, the
    share of drifted features (`status.lastEvaluation`)."""
    last_schedule_time: str | None
    last_quality: dict[str, Any] | None
    """With `spec.quality`: the serving version's predictions scored against ground truth in
    the last scored window — metrics, thresholds, labelled rows, `degraded`
    (`status.lastQuality`)."""
    candidate_evaluation: dict[str, Any] | None
    """During a rollout: the candidate's drift evaluation over the same window and, with
    `spec.quality`, its quality (`status.candidateEvaluation`)."""
    evaluated_version: str | None
    """The model version whose logged traffic the last evaluation read."""
    recent_evaluations: list[EvaluationSummaryPublic]
    """The last evaluations (up to 10), newest first."""
    last_failure: EvaluationFailurePublic | None
    """The last run that could not evaluate; cleared by the next evaluation."""
    alerts: list[AlertDeliveryPublic]
    """Alert deliveries of the most recent evaluation that sent any, one per sink."""
