"""`actions.onDatasetDrift` / `onQualityDegraded: pauseRollouts`: a DriftMonitor pausing its
deployment's canary.

One path for every pause that waits for a person: the monitor's handler does not touch the
rollout itself, it asks for the pause with the annotation `modelplane.io/paused-by-drift` on the
ModelDeployment (which monitor, which candidate, why, the evaluated window). The rollout pass
honours it like a failed analysis under `onFailure: pause`: `rolloutState: Paused`, traffic
held, until a person resumes with `modelplane.io/resume` (the dashboard's Resume, or `kubectl
annotate`), which also removes the request. The monitor remembers the window it paused for in
its own annotation (`modelplane.io/rollouts-paused-for` for drift,
`modelplane.io/rollouts-paused-for-quality` for quality: two causes, two keys, so neither undoes
the other's memory), so a person's resume is not undone by the same evaluation; a later
evaluation that still finds drift, or a candidate still below its thresholds, pauses again.

Two causes: dataset drift in the stable's evaluation (`status.lastEvaluation`), and the
candidate's own live quality outside its thresholds (`status.candidateEvaluation.quality`, about
that candidate only).

Pure: the handlers read and write the cluster; this module decides and words it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from modelplane_crds.conditions import Condition, remove_condition, set_condition
from modelplane_crds.drift_monitor import DriftMonitorSpec
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.quality import QualityEvaluation

DRIFT_PAUSE = "modelplane.io/paused-by-drift"
"""On a ModelDeployment: the pause a DriftMonitor asks for (JSON, see `DriftPause`)."""
PAUSED_FOR = "modelplane.io/rollouts-paused-for"
"""On a DriftMonitor: the end of the evaluated window it last paused a rollout for (drift)."""
QUALITY_PAUSED_FOR = "modelplane.io/rollouts-paused-for-quality"
"""On a DriftMonitor: the end of the scored window it last paused a rollout for (quality)."""
ROLLOUTS_PAUSED = "RolloutsPaused"
"""The monitor's condition type, and the reason of the Event on it."""
Cause = Literal["DatasetDrift", "QualityDegraded"]
DATASET_DRIFT: Cause = "DatasetDrift"
QUALITY_DEGRADED: Cause = "QualityDegraded"
NOTHING_PAUSED = "NothingPaused"


@dataclass(frozen=True)
class DriftPause:
    """A monitor's request to pause one candidate's rollout."""

    monitor: str
    candidate: str
    share: float | None
    """The dataset drift share (drift); None for quality."""
    window_end: str
    """The evaluated window's end, ISO 8601 (the key of the evaluation)."""
    cause: Cause = "DatasetDrift"
    detail: str = ""
    """Quality: the metrics outside their thresholds (`mae 0.51 > max 0.2`)."""

    def annotation(self) -> str:
        """The value of `DRIFT_PAUSE`."""
        value: dict[str, Any] = {
            "monitor": self.monitor,
            "candidate": self.candidate,
            "share": self.share,
            "windowEnd": self.window_end,
        }
        if self.cause != DATASET_DRIFT:
            value |= {"cause": self.cause, "detail": self.detail}
        return json.dumps(value, sort_keys=True)

    @classmethod
    def parse(cls, value: str | None) -> DriftPause | None:
        """The request in an annotation value; None when absent or unreadable."""
        if not value:
            return None
        try:
            raw = json.loads(value)
            cause = raw.get("cause", DATASET_DRIFT)
            share = None if raw.get("share") is None else float(raw["share"])
            if cause not in (DATASET_DRIFT, QUALITY_DEGRADED):
                return None
            return cls(
                str(raw["monitor"]), str(raw["candidate"]), share, str(raw["windowEnd"]),
                cause, str(raw.get("detail", "")),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def finding(self) -> str:
        """What the monitor found, in a few words."""
        if self.cause == QUALITY_DEGRADED:
            return f"the candidate's live quality is outside its thresholds ({self.detail})"
        return f"dataset drift (share {self.share or 0.0:.2f})"

    def reason(self) -> str:
        """Why, for the deployment's condition and Event."""
        return (
            f"DriftMonitor {self.monitor} found {self.finding()} in the window ending"
            f" {self.window_end}"
        )

    def memory(self) -> str:
        """The monitor's annotation that remembers this pause (one per cause)."""
        return QUALITY_PAUSED_FOR if self.cause == QUALITY_DEGRADED else PAUSED_FOR


def window_key(evaluation: DriftEvaluation | QualityEvaluation) -> str:
    """The evaluation's key: its window end, as the drift job writes it (UTC, ISO 8601)."""
    return evaluation.window_end.isoformat().replace("+00:00", "Z")


def _acts(spec: DriftMonitorSpec, cause: Cause) -> bool:
    actions = spec.actions
    if actions is None:
        return False
    wanted = actions.on_dataset_drift if cause == DATASET_DRIFT else actions.on_quality_degraded
    return wanted == "pauseRollouts"


def pause_due(
    spec: DriftMonitorSpec, evaluation: DriftEvaluation | None, paused_for: str | None
) -> bool:
    """The monitor pauses rollouts on drift, its last evaluation found dataset drift, and it
    has not yet paused for that evaluation (a person may have resumed since)."""
    if not _acts(spec, DATASET_DRIFT):
        return False
    if evaluation is None or evaluation.dataset is None or not evaluation.dataset.drifted:
        return False
    return paused_for != window_key(evaluation)


def quality_pause_due(
    spec: DriftMonitorSpec, quality: QualityEvaluation | None, paused_for: str | None
) -> bool:
    """The monitor pauses rollouts on quality, the candidate's last scored window is outside
    its thresholds, and it has not yet paused for that window."""
    if not _acts(spec, QUALITY_DEGRADED) or quality is None or not quality.degraded:
        return False
    return paused_for != window_key(quality)


def _in_progress(deployment: Mapping[str, Any] | None) -> str | None:
    """The candidate of a canary in progress, else None."""
    status = (deployment or {}).get("status") or {}
    candidate = status.get("candidateVersion")
    if status.get("rolloutState") != "Progressing" or not candidate:
        return None
    return str(candidate)


def pause_request(
    monitor: str, evaluation: DriftEvaluation, deployment: Mapping[str, Any] | None
) -> DriftPause | None:
    """The pause to ask for on drift: only while the deployment has a canary in progress."""
    candidate = _in_progress(deployment)
    if candidate is None or evaluation.dataset is None:
        return None
    return DriftPause(monitor, candidate, evaluation.dataset.share, window_key(evaluation))


def quality_pause_request(
    monitor: str, quality: QualityEvaluation, deployment: Mapping[str, Any] | None
) -> DriftPause | None:
    """The pause to ask for on the candidate's quality: only while that very candidate's canary
    is in progress (a result about an earlier candidate asks nothing)."""
    candidate = _in_progress(deployment)
    if candidate is None or candidate != quality.model_version:
        return None
    detail = "; ".join(quality.breaches())[:512]
    return DriftPause(monitor, candidate, None, window_key(quality), QUALITY_DEGRADED, detail)


def rollouts_paused_condition(
    conditions: Sequence[Condition],
    spec: DriftMonitorSpec,
    found: tuple[DriftEvaluation | None, QualityEvaluation | None],
    annotations: Mapping[str, str],
    generation: int,
    now: datetime,
) -> list[Condition]:
    """`RolloutsPaused`: True when the monitor paused its deployment's rollout for the last
    evaluation (`found`: the stable's drift evaluation, the candidate's quality); absent when
    the monitor takes no action."""
    if not (_acts(spec, DATASET_DRIFT) or _acts(spec, QUALITY_DEGRADED)):
        return remove_condition(conditions, ROLLOUTS_PAUSED)
    deployment = spec.deployment_ref.name
    evaluation, quality = found
    resume = (
        "resuming is a person's decision (Resume in the dashboard, or annotate"
        " modelplane.io/resume)"
    )
    if quality is not None and annotations.get(QUALITY_PAUSED_FOR) == window_key(quality):
        message = (
            f"paused the rollout of {quality.model_version} on ModelDeployment {deployment}: live"
            f" quality {'; '.join(quality.breaches())} in the window ending"
            f" {window_key(quality)}; {resume}"
        )
        return set_condition(
            conditions, ROLLOUTS_PAUSED, "True", QUALITY_DEGRADED, message, generation, now
        )
    paused_for = annotations.get(PAUSED_FOR)
    if (
        evaluation is not None
        and evaluation.dataset is not None
        and paused_for == window_key(evaluation)
    ):
        message = (
            f"paused the rollout of ModelDeployment {deployment}: dataset drift share"
            f" {evaluation.dataset.share:.2f} in the window ending {paused_for}; {resume}"
        )
        return set_condition(
            conditions, ROLLOUTS_PAUSED, "True", DATASET_DRIFT, message, generation, now
        )
    message = (
        f"no rollout of ModelDeployment {deployment} paused for the last evaluation (no dataset"
        " drift, no candidate below its quality thresholds, or no rollout in progress)"
    )
    return set_condition(
        conditions, ROLLOUTS_PAUSED, "False", NOTHING_PAUSED, message, generation, now
    )
