"""What an alert says: one monitor, one evaluation, as a webhook body and as an Alertmanager alert.

Deduplication rests on the evaluation, not on the attempt: `dedup_key` is the monitor's uid and
the window's end, so a job retried after a failure (or re-run after an operator kill) sends the
same key, and the webhook body is canonical JSON (sorted keys, no send time), so it is the same
bytes too. Webhook receivers deduplicate on the `Idempotency-Key` header (equal to the body's
`id`); Alertmanager merges alerts with identical labels, and ours carry no per-evaluation label,
so one drift episode is one alert however often it is re-sent.

Alertmanager's convention (the one Prometheus follows) is that a firing alert is re-sent while
the condition holds, each time with an `endsAt` a few evaluation periods ahead, and resolved by
a last message whose `endsAt` is now. `alert_state` decides which, given whether the previous
evaluation drifted; an alert whose resolve was lost still ends by itself at its `endsAt`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from modelplane_crds.drift_results import DriftEvaluation, FeatureDriftResult

AlertState = Literal["firing", "resolved"]
ALERT_NAME = "ModelplaneDatasetDrift"
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


def alert_state(evaluation: DriftEvaluation, previously_drifted: bool) -> AlertState | None:
    """`firing` while the dataset drifts, `resolved` once on the first evaluation without drift
    after one with it, otherwise None (nothing to send; also when the window had too little data
    to decide)."""
    if evaluation.insufficient_data or evaluation.dataset is None:
        return None
    if evaluation.dataset.drifted:
        return "firing"
    return "resolved" if previously_drifted else None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dedup_key(monitor: MonitorRef, evaluation: DriftEvaluation) -> str:
    """One key per evaluation: the monitor's uid (its namespace/name before it has one) and the
    window's end."""
    owner = monitor.uid or f"{monitor.namespace}/{monitor.name}"
    return f"drift:{owner}:{_utc(evaluation.window_end)}"


def _drifted(results: list[FeatureDriftResult]) -> list[FeatureDriftResult]:
    return sorted((r for r in results if r.drifted), key=lambda r: r.feature)


def _feature(result: FeatureDriftResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True)


def summary(monitor: MonitorRef, evaluation: DriftEvaluation, state: AlertState) -> str:
    """One line for people: which deployment, how much drifted, which features."""
    target = f"{monitor.namespace}/{monitor.deployment} ({monitor.model_version})"
    if state == "resolved":
        return f"Dataset drift ended for {target}"
    dataset = evaluation.dataset
    share = dataset.share if dataset is not None else 0.0
    names = [r.feature for r in _drifted(evaluation.features)]
    listed = ", ".join(names[:MAX_LISTED_FEATURES]) + (
        " …" if len(names) > MAX_LISTED_FEATURES else ""
    )
    return f"Dataset drift in {target}: {share:.0%} of features drifted ({listed})"


def webhook_body(
    monitor: MonitorRef, evaluation: DriftEvaluation, state: AlertState, severity: str
) -> bytes:
    """The webhook's JSON body: canonical (sorted keys, compact), identical for every send of
    one evaluation."""
    dataset = evaluation.dataset
    message = {
        "id": dedup_key(monitor, evaluation),
        "type": f"drift.{state}",
        "state": state,
        "severity": severity,
        "summary": summary(monitor, evaluation, state),
        "monitor": {"namespace": monitor.namespace, "name": monitor.name, "uid": monitor.uid},
        "deployment": monitor.deployment,
        "modelVersion": monitor.model_version,
        "window": {"start": _utc(evaluation.window_start), "end": _utc(evaluation.window_end)},
        "samples": evaluation.samples,
        "dataset": None
        if dataset is None
        else {"share": dataset.share, "threshold": dataset.threshold, "drifted": dataset.drifted},
        "driftedFeatures": [_feature(r) for r in _drifted(evaluation.features)],
        "driftedOutputs": [_feature(r) for r in _drifted(evaluation.prediction_drift)],
    }
    return json.dumps(message, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def alertmanager_alert(
    monitor: MonitorRef,
    evaluation: DriftEvaluation,
    state: AlertState,
    severity: str,
    now: datetime,
    period: timedelta | None = None,
) -> dict[str, Any]:
    """One alert for Alertmanager's `POST /api/v2/alerts`.

    Labels identify the drift episode (no window in them, so re-sends merge); `startsAt` is the
    evaluated window's start (Alertmanager keeps the earliest); `endsAt` is `now` for a resolve
    and `RESEND_PERIODS` evaluation periods ahead while firing (`period` defaults to the window's
    length)."""
    dataset = evaluation.dataset
    period = period or (evaluation.window_end - evaluation.window_start)
    ends = now if state == "resolved" else now + RESEND_PERIODS * period
    names = [r.feature for r in _drifted(evaluation.features)]
    return {
        "labels": {
            "alertname": ALERT_NAME,
            "namespace": monitor.namespace,
            "monitor": monitor.name,
            "deployment": monitor.deployment,
            "model_version": monitor.model_version,
            "severity": severity,
        },
        "annotations": {
            "summary": summary(monitor, evaluation, state),
            "drifted_features": ",".join(names[:MAX_LISTED_FEATURES]),
            "drift_share": f"{dataset.share:.4f}" if dataset is not None else "",
            "window_end": _utc(evaluation.window_end),
            "evaluation": dedup_key(monitor, evaluation),
        },
        "startsAt": _utc(min(evaluation.window_start, now)),
        "endsAt": _utc(ends),
    }
