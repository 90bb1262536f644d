"""`actions.onDatasetDrift: pauseRollouts`: a DriftMonitor pausing its deployment's canary.

One path for every pause that waits for a person: the monitor's handler does not touch the
rollout itself, it asks for the pause with the annotation `modelplane.io/paused-by-drift` on the
ModelDeployment (which monitor, which candidate, the drift share, the evaluated window). The
rollout pass honours it like a failed analysis under `onFailure: pause`: `rolloutState: Paused`,
traffic held, until a person resumes with `modelplane.io/resume` (the dashboard's Resume, or
`kubectl annotate`), which also removes the request. The monitor remembers the window it paused
for in its own annotation `modelplane.io/rollouts-paused-for`, so a person's resume is not undone
by the same evaluation; a later evaluation that still finds drift pauses again.

Pure: the handlers read and write the cluster; this module decides and words it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelplane_crds.conditions import Condition, remove_condition, set_condition
from modelplane_crds.drift_monitor import DriftMonitorSpec
from modelplane_crds.drift_results import DriftEvaluation

DRIFT_PAUSE = "modelplane.io/paused-by-drift"
"""On a ModelDeployment: the pause a DriftMonitor asks for (JSON, see `DriftPause`)."""
PAUSED_FOR = "modelplane.io/rollouts-paused-for"
"""On a DriftMonitor: the end of the evaluated window it last paused a rollout for."""
ROLLOUTS_PAUSED = "RolloutsPaused"
"""The monitor's condition type, and the reason of the Event on it."""
DATASET_DRIFT = "DatasetDrift"
NOTHING_PAUSED = "NothingPaused"


@dataclass(frozen=True)
class DriftPause:
    """A monitor's request to pause one candidate's rollout."""

    monitor: str
    candidate: str
    share: float
    window_end: str
    """The evaluated window's end, ISO 8601 (the key of the evaluation)."""

    def annotation(self) -> str:
        """The value of `DRIFT_PAUSE`."""
        return json.dumps(
            {
                "monitor": self.monitor,
                "candidate": self.candidate,
                "share": self.share,
                "windowEnd": self.window_end,
            },
            sort_keys=True,
        )

    @classmethod
    def parse(cls, value: str | None) -> DriftPause | None:
        """The request in an annotation value; None when absent or unreadable."""
        if not value:
            return None
        try:
            raw = json.loads(value)
            return cls(
                str(raw["monitor"]), str(raw["candidate"]), float(raw["share"]),
                str(raw["windowEnd"]),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return None

    def reason(self) -> str:
        """Why, for the deployment's condition and Event."""
        return (
            f"DriftMonitor {self.monitor} found dataset drift (share {self.share:.2f}) in the"
            f" window ending {self.window_end}"
        )


def window_key(evaluation: DriftEvaluation) -> str:
    """The evaluation's key: its window end, as the drift job writes it (UTC, ISO 8601)."""
    return evaluation.window_end.isoformat().replace("+00:00", "Z")


def pause_due(
    spec: DriftMonitorSpec, evaluation: DriftEvaluation | None, paused_for: str | None
) -> bool:
    """The monitor pauses rollouts, its last evaluation found dataset drift, and it has not yet
    paused for that evaluation (a person may have resumed since)."""
    if spec.actions is None or spec.actions.on_dataset_drift != "pauseRollouts":
        return False
    if evaluation is None or evaluation.dataset is None or not evaluation.dataset.drifted:
        return False
    return paused_for != window_key(evaluation)


def pause_request(
    monitor: str, evaluation: DriftEvaluation, deployment: Mapping[str, Any] | None
) -> DriftPause | None:
    """The pause to ask for: only while the deployment has a canary in progress."""
    status = (deployment or {}).get("status") or {}
    candidate = status.get("candidateVersion")
    if status.get("rolloutState") != "Progressing" or not candidate or evaluation.dataset is None:
        return None
    return DriftPause(monitor, str(candidate), evaluation.dataset.share, window_key(evaluation))


def rollouts_paused_condition(
    conditions: Sequence[Condition],
    spec: DriftMonitorSpec,
    evaluation: DriftEvaluation | None,
    paused_for: str | None,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """`RolloutsPaused`: True when the monitor paused its deployment's rollout for the last
    evaluation; absent when the monitor takes no action."""
    if spec.actions is None or spec.actions.on_dataset_drift != "pauseRollouts":
        return remove_condition(conditions, ROLLOUTS_PAUSED)
    deployment = spec.deployment_ref.name
    if (
        evaluation is not None
        and evaluation.dataset is not None
        and paused_for == window_key(evaluation)
    ):
        message = (
            f"paused the rollout of ModelDeployment {deployment}: dataset drift share"
            f" {evaluation.dataset.share:.2f} in the window ending {paused_for}; resuming is a"
            " person's decision (Resume in the dashboard, or annotate modelplane.io/resume)"
        )
        return set_condition(
            conditions, ROLLOUTS_PAUSED, "True", DATASET_DRIFT, message, generation, now
        )
    message = (
        f"no rollout of ModelDeployment {deployment} paused for the last evaluation (no dataset"
        " drift, or no rollout in progress)"
    )
    return set_condition(
        conditions, ROLLOUTS_PAUSED, "False", NOTHING_PAUSED, message, generation, now
    )
