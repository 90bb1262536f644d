"""What an alert says: one monitor, one evaluation, as a webhook body and as an Alertmanager alert.

Two things are alerted, through the same message and delivery path: dataset drift of the
evaluated window (`DriftAlert`, from a `DriftEvaluation`) and live quality outside its thresholds
in the scored window (`QualityAlert`, from a `QualityEvaluation`). Each says only what is its
own — whether it fires, its summary, its part of the webhook body and its annotations — and
everything else (identity, keys, states, timing) is shared here.

Deduplication rests on the evaluation, not on the attempt: `dedup_key` is the alert's kind, the
monitor's uid and the window's end, so a job retried after a failure (or re-run after an
operator kill) sends the same key, and the webhook body is canonical JSON (sorted keys, no send
time), so it is the same bytes too. Webhook receivers deduplicate on the `Idempotency-Key`
header (equal to the body's `id`); Alertmanager merges alerts with identical labels, and ours
carry no per-evaluation label, so one episode is one alert however often it is re-sent.

Alertmanager's convention (the one Prometheus follows) is that a firing alert is re-sent while
the condition holds, each time with an `endsAt` a few evaluation periods ahead, and resolved by
a last message whose `endsAt` is now. `alert_state` decides which, given whether the previous
evaluation fired; an alert whose resolve was lost still ends by itself at its `endsAt`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from modelplane_crds.drift_results import DriftEvaluation, FeatureDriftResult
from modelplane_crds.quality import QualityEvaluation, outside_thresholds

AlertState = Literal["firing", "resolved"]
AlertKind = Literal["drift", "quality"]
Evaluation = DriftEvaluation | QualityEvaluation
"""What an alert can be about: the drift evaluation of a window, or the quality of a scored
window."""
ALERT_NAME = "ModelplaneDatasetDrift"
QUALITY_ALERT_NAME = "ModelplaneQualityDegraded"
RESEND_PERIODS = 4
"""A firing alert's `endsAt` is this many evaluation periods ahead (Prometheus uses 4 × its
resend delay), so one or two missed evaluations do not resolve it."""
MAX_LISTED_FEATURES = 20
"""Features named in the Alertmanager annotation and the summary; the webhook lists all."""


@dataclass(frozen=True)
class MonitorRef:
    """The monitor an alert is about, and what it watches."""

    namespace: str
    name: str
    uid: str
    deployment: str
    model_version: str
    """The ModelVersion serving the evaluated traffic (the deployment's stable version)."""

    def target(self) -> str:
        """`namespace/deployment (version)`, as summaries name it."""
        return f"{self.namespace}/{self.deployment} ({self.model_version})"


def _drifted(results: list[FeatureDriftResult]) -> list[FeatureDriftResult]:
    return sorted((r for r in results if r.drifted), key=lambda r: r.feature)


def _feature(result: FeatureDriftResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True)


@dataclass(frozen=True)
class DriftAlert:
    """Dataset drift: fires while the window's share of drifted features reaches the threshold."""

    evaluation: DriftEvaluation
    kind: ClassVar[AlertKind] = "drift"
    alertname: ClassVar[str] = ALERT_NAME

    def firing(self) -> bool | None:
        """Whether the dataset drifted; None when the window had too little data to decide."""
        if self.evaluation.insufficient_data or self.evaluation.dataset is None:
            return None
        return self.evaluation.dataset.drifted

    def summary(self, target: str, state: AlertState) -> str:
        if state == "resolved":
            return f"Dataset drift ended for {target}"
        dataset = self.evaluation.dataset
        share = dataset.share if dataset is not None else 0.0
        names = [r.feature for r in _drifted(self.evaluation.features)]
        listed = ", ".join(names[:MAX_LISTED_FEATURES]) + (
            " …" if len(names) > MAX_LISTED_FEATURES else ""
        )
        return f"Dataset drift in {target}: {share:.0%} of features drifted ({listed})"

    def details(self) -> dict[str, Any]:
        """The webhook body's own fields."""
        dataset = self.evaluation.dataset
        return {
            "samples": self.evaluation.samples,
            "dataset": None
            if dataset is None
            else {
                "share": dataset.share,
                "threshold": dataset.threshold,
                "drifted": dataset.drifted,
            },
            "driftedFeatures": [_feature(r) for r in _drifted(self.evaluation.features)],
            "driftedOutputs": [_feature(r) for r in _drifted(self.evaluation.prediction_drift)],
        }

    def annotations(self) -> dict[str, str]:
        """The Alertmanager annotations' own entries."""
        dataset = self.evaluation.dataset
        names = [r.feature for r in _drifted(self.evaluation.features)]
        return {
            "drifted_features": ",".join(names[:MAX_LISTED_FEATURES]),
            "drift_share": f"{dataset.share:.4f}" if dataset is not None else "",
        }


@dataclass(frozen=True)
class QualityAlert:
    """Live quality: fires while a metric of the scored window is outside its thresholds."""

    evaluation: QualityEvaluation
    kind: ClassVar[AlertKind] = "quality"
    alertname: ClassVar[str] = QUALITY_ALERT_NAME

    def firing(self) -> bool | None:
        """Whether quality degraded; None with too few labelled predictions to decide."""
        return None if self.evaluation.insufficient_data else self.evaluation.degraded

    def failing(self) -> list[str]:
        """`mae 0.51 > max 0.2` for each metric outside its thresholds."""
        return [outside_thresholds(m) for m in self.evaluation.metrics if m.passed is False]

    def summary(self, target: str, state: AlertState) -> str:
        labelled = f"{self.evaluation.labelled_rows} labelled"
        if state == "resolved":
            return f"Quality back within thresholds for {target} ({labelled})"
        return f"Quality degraded in {target}: {'; '.join(self.failing())} ({labelled})"

    def details(self) -> dict[str, Any]:
        """The webhook body's own fields: the scored window's counts and every metric."""
        quality = self.evaluation
        return {
            "predictions": quality.predictions,
            "labelledRows": quality.labelled_rows,
            "labelsUntil": _utc(quality.labels_until),
            "degraded": quality.degraded,
            "metrics": [
                m.model_dump(mode="json", by_alias=True, exclude_none=True) for m in quality.metrics
            ],
        }

    def annotations(self) -> dict[str, str]:
        """The Alertmanager annotations' own entries."""
        return {
            "failing_metrics": "; ".join(self.failing()),
            "labelled_rows": str(self.evaluation.labelled_rows),
            "window_start": _utc(self.evaluation.window_start),
        }


Alerted = DriftAlert | QualityAlert
"""What is alerted: the shared message code asks it only what differs between kinds."""


def alerted(evaluation: Evaluation) -> Alerted:
    """The alert an evaluation makes."""
    if isinstance(evaluation, QualityEvaluation):
        return QualityAlert(evaluation)
    return DriftAlert(evaluation)


def alert_state(evaluation: Evaluation, previously_firing: bool) -> AlertState | None:
    """`firing` while the condition holds (drift, degraded quality), `resolved` once on the first
    evaluation without it after one with it, otherwise None (nothing to send; also when the
    window had too little data to decide)."""
    firing = alerted(evaluation).firing()
    if firing is None:
        return None
    if firing:
        return "firing"
    return "resolved" if previously_firing else None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dedup_key(monitor: MonitorRef, evaluation: Evaluation) -> str:
    """One key per evaluation: the alert's kind, the monitor's uid (its namespace/name before it
    has one) and the window's end."""
    owner = monitor.uid or f"{monitor.namespace}/{monitor.name}"
    return f"{alerted(evaluation).kind}:{owner}:{_utc(evaluation.window_end)}"


def summary(monitor: MonitorRef, evaluation: Evaluation, state: AlertState) -> str:
    """One line for people: which deployment, what happened (which features drifted, which
    metrics broke which threshold)."""
    return alerted(evaluation).summary(monitor.target(), state)


def webhook_body(
    monitor: MonitorRef, evaluation: Evaluation, state: AlertState, severity: str
) -> bytes:
    """The webhook's JSON body: canonical (sorted keys, compact), identical for every send of
    one evaluation."""
    subject = alerted(evaluation)
    message = {
        "id": dedup_key(monitor, evaluation),
        "type": f"{subject.kind}.{state}",
        "state": state,
        "severity": severity,
        "summary": summary(monitor, evaluation, state),
        "monitor": {"namespace": monitor.namespace, "name": monitor.name, "uid": monitor.uid},
        "deployment": monitor.deployment,
        "modelVersion": monitor.model_version,
        "window": {"start": _utc(evaluation.window_start), "end": _utc(evaluation.window_end)},
        **subject.details(),
    }
    return json.dumps(message, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def alertmanager_alert(
    monitor: MonitorRef,
    evaluation: Evaluation,
    state: AlertState,
    severity: str,
    now: datetime,
    period: timedelta | None = None,
) -> dict[str, Any]:
    """One alert for Alertmanager's `POST /api/v2/alerts`.

    Labels identify the episode (no window in them, so re-sends merge); `startsAt` is the
    evaluated window's start (Alertmanager keeps the earliest); `endsAt` is `now` for a resolve
    and `RESEND_PERIODS` evaluation periods ahead while firing (`period` defaults to the window's
    length)."""
    subject = alerted(evaluation)
    period = period or (evaluation.window_end - evaluation.window_start)
    ends = now if state == "resolved" else now + RESEND_PERIODS * period
    return {
        "labels": {
            "alertname": subject.alertname,
            "namespace": monitor.namespace,
            "monitor": monitor.name,
            "deployment": monitor.deployment,
            "model_version": monitor.model_version,
            "severity": severity,
        },
        "annotations": {
            "summary": summary(monitor, evaluation, state),
            **subject.annotations(),
            "window_end": _utc(evaluation.window_end),
            "evaluation": dedup_key(monitor, evaluation),
        },
        "startsAt": _utc(min(evaluation.window_start, now)),
        "endsAt": _utc(ends),
    }
