"""`actions.onDatasetDrift` / `onQualityDegraded: pauseRollouts`: the monitor's decision (pure),
the rollout machine honouring the request like `onFailure: pause`, and the monitor's handler
against a fake gateway."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelplane_crds.drift_monitor import DriftMonitorSpec
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.quality import QualityEvaluation
from modelplane_operator.handlers.converged import conditions_of
from modelplane_operator.handlers.drift_monitor import pause_rollouts, result_patch
from modelplane_operator.rollout.drift_pause import (
    DRIFT_PAUSE,
    PAUSED_FOR,
    QUALITY_PAUSED_FOR,
    DriftPause,
    pause_due,
    pause_request,
    quality_pause_due,
    quality_pause_request,
)
from tests.operator.factories import (
    T0,
    condition,
    facts,
    make_spec,
    quality_evaluation,
    reasons,
    run,
    settled,
)
from tests.operator.fakes import FakeCluster

END = datetime(2026, 12, 7, 15, tzinfo=UTC)
PAUSE = DriftPause("fraud-inputs", "v2", 0.75, "2026-12-07T15:00:00Z")
STEPS: list[dict[str, Any]] = [{"setWeight": 10}, {"pause": {"duration": "1h"}}, {"pause": {}}]


def _spec(action: str = "pauseRollouts") -> DriftMonitorSpec:
    return DriftMonitorSpec.model_validate(
        {"deploymentRef": {"name": "fraud"}, "actions": {"onDatasetDrift": action}}
    )


def _evaluation(drifted: bool = True, end: datetime = END) -> DriftEvaluation:
    share = 0.75 if drifted else 0.0
    return DriftEvaluation.model_validate(
        {
            "windowStart": end - timedelta(hours=1),
            "windowEnd": end,
            "samples": 600,
            "dataset": {"share": share, "threshold": 0.5, "drifted": drifted},
        }
    )


def _deployment(state: str = "Progressing", candidate: str | None = "v2") -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": "team-a"},
        "status": {"rolloutState": state, "candidateVersion": candidate},
    }


def test_the_request_round_trips_through_its_annotation() -> None:
    assert DriftPause.parse(PAUSE.annotation()) == PAUSE
    assert DriftPause.parse("not json") is None
    assert DriftPause.parse(None) is None


@pytest.mark.parametrize(
    ("action", "drifted", "paused_for", "due"),
    [
        ("pauseRollouts", True, None, True),
        ("pauseRollouts", True, "2026-12-06T15:00:00Z", True),  # an older evaluation
        ("pauseRollouts", True, "2026-12-07T15:00:00Z", False),  # done (a person may resume)
        ("pauseRollouts", False, None, False),
        ("none", True, None, False),
    ],
)
def test_a_pause_is_due_once_per_drifted_evaluation_of_a_monitor_that_pauses(
    action: str, drifted: bool, paused_for: str | None, due: bool
) -> None:
    assert pause_due(_spec(action), _evaluation(drifted), paused_for) is due


def test_only_a_rollout_in_progress_is_paused() -> None:
    assert pause_request("fraud-inputs", _evaluation(), _deployment()) == PAUSE
    assert pause_request("fraud-inputs", _evaluation(), _deployment("Paused")) is None
    assert pause_request("fraud-inputs", _evaluation(), _deployment("Idle", None)) is None
    assert pause_request("fraud-inputs", _evaluation(), None) is None


def test_the_rollout_pauses_for_drift_until_a_person_resumes_and_the_request_goes_with_it() -> None:
    spec = make_spec(steps=STEPS)
    status = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    ready = {"v1": 1, "v2": 1}
    moving = run(spec, status, facts(T0, ready))
    assert moving.status.rollout_state == "Progressing"

    paused = run(spec, moving.status, replace(facts(T0, ready), drift_pause=PAUSE))
    assert paused.status.rollout_state == "Paused"
    assert condition(paused.status, "Stalled") == ("True", "CanaryPaused")
    stalled = next(c for c in paused.status.conditions if c.type == "Stalled")
    assert "fraud-inputs" in stalled.message
    assert "0.75" in stalled.message
    assert "CanaryPaused" in reasons(paused)
    weight = paused.status.traffic.candidate  # type: ignore[union-attr]

    later = T0 + timedelta(hours=2)  # the timed pause would be over: still held
    held = run(spec, paused.status, replace(facts(later, ready), drift_pause=PAUSE))
    assert held.status.rollout_state == "Paused"
    assert held.status.traffic.candidate == weight  # type: ignore[union-attr]
    assert not held.consume_promote

    resumed = run(spec, held.status, replace(facts(later, ready, promote=True), drift_pause=PAUSE))
    assert resumed.status.rollout_state == "Progressing"
    assert resumed.consume_promote  # drops modelplane.io/resume and the drift request
    assert "Resumed" in reasons(resumed)


def test_a_request_about_another_candidate_is_ignored() -> None:
    spec = make_spec(steps=STEPS)
    status = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    other = replace(PAUSE, candidate="v0")
    moving = run(spec, status, replace(facts(T0, {"v1": 1, "v2": 1}), drift_pause=other))
    assert moving.status.rollout_state == "Progressing"


def _monitor(paused_for: str | None = None) -> dict[str, Any]:
    annotations = {PAUSED_FOR: paused_for} if paused_for else {}
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "DriftMonitor",
        "metadata": {"name": "fraud-inputs", "namespace": "team-a", "generation": 1,
                     "annotations": annotations},
        "spec": {"deploymentRef": {"name": "fraud"},
                 "actions": {"onDatasetDrift": "pauseRollouts"}},
        "status": {"lastEvaluation": _evaluation().to_wire()},
    }  # fmt: skip


def test_the_monitor_asks_the_deployment_to_pause_then_remembers_the_evaluation() -> None:
    monitor = _monitor()
    cluster = FakeCluster("get", "annotate", "event", objects=[_deployment(), monitor])
    assert pause_rollouts(cluster, monitor) == [PAUSE]
    deployment = cluster.get("modelplane.io/v1alpha1", "ModelDeployment", "fraud", "team-a")
    assert DriftPause.parse(deployment["metadata"]["annotations"][DRIFT_PAUSE]) == PAUSE
    stored = cluster.get("modelplane.io/v1alpha1", "DriftMonitor", "fraud-inputs", "team-a")
    assert stored["metadata"]["annotations"][PAUSED_FOR] == PAUSE.window_end
    assert [(t, r) for t, r, _ in cluster.events] == [("Warning", "RolloutsPaused")]

    status = result_patch({**monitor, "metadata": stored["metadata"]}, END)
    assert status is not None
    (paused,) = [c for c in conditions_of(status) if c.type == "RolloutsPaused"]
    assert (paused.status, paused.reason) == ("True", "DatasetDrift")
    assert "fraud" in paused.message
    assert "0.75" in paused.message


def test_the_same_evaluation_is_not_acted_on_twice() -> None:
    monitor = _monitor(paused_for=PAUSE.window_end)
    assert pause_rollouts(FakeCluster(objects=[_deployment(), monitor]), monitor) == []


def _quality(version: str = "v2", mae: float = 0.51) -> QualityEvaluation:
    """The candidate's scored window: one `mae` metric against a max of 0.2."""
    return quality_evaluation(END, version, mae)


QUALITY_PAUSE = DriftPause(
    "fraud-inputs", "v2", None, "2026-12-07T15:00:00Z", "QualityDegraded", "mae 0.51 > max 0.2"
)


def _quality_spec(**actions: str) -> DriftMonitorSpec:
    quality = {"task": "regression", "prediction": "output.y.0", "metrics": [{"metric": "mae"}]}
    return DriftMonitorSpec.model_validate(
        {"deploymentRef": {"name": "fraud"}, "quality": quality, "actions": actions}
    )


def test_a_quality_request_round_trips_and_says_which_metrics_broke() -> None:
    assert DriftPause.parse(QUALITY_PAUSE.annotation()) == QUALITY_PAUSE
    assert "mae 0.51 > max 0.2" in QUALITY_PAUSE.reason()
    assert DriftPause.parse('{"monitor": "m", "candidate": "v2", "windowEnd": "x",'
                            ' "cause": "Nonsense"}') is None  # fmt: skip


@pytest.mark.parametrize(
    ("action", "mae", "paused_for", "due"),
    [
        ("pauseRollouts", 0.51, None, True),
        ("pauseRollouts", 0.51, "2026-12-07T15:00:00Z", False),  # done (a person may resume)
        ("pauseRollouts", 0.1, None, False),  # within its thresholds
        ("none", 0.51, None, False),
    ],
)
def test_a_quality_pause_is_due_once_per_degraded_window_of_a_monitor_that_pauses(
    action: str, mae: float, paused_for: str | None, due: bool
) -> None:
    spec = _quality_spec(onQualityDegraded=action)
    assert quality_pause_due(spec, _quality(mae=mae), paused_for) is due


def test_only_the_candidate_whose_quality_was_scored_is_paused() -> None:
    assert quality_pause_request("fraud-inputs", _quality(), _deployment()) == QUALITY_PAUSE
    assert quality_pause_request("fraud-inputs", _quality("v1"), _deployment()) is None
    assert quality_pause_request("fraud-inputs", _quality(), _deployment("Paused")) is None


def test_the_rollout_pauses_for_a_worse_candidate_and_says_why() -> None:
    spec = make_spec(steps=STEPS)
    status = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    ready = {"v1": 1, "v2": 1}
    moving = run(spec, status, facts(T0, ready))
    paused = run(spec, moving.status, replace(facts(T0, ready), drift_pause=QUALITY_PAUSE))
    assert paused.status.rollout_state == "Paused"
    stalled = next(c for c in paused.status.conditions if c.type == "Stalled")
    assert "mae 0.51 > max 0.2" in stalled.message


def test_drift_and_a_worse_candidate_each_pause_once_and_neither_undoes_the_others_memory() -> None:
    spec = _quality_spec(onDatasetDrift="pauseRollouts", onQualityDegraded="pauseRollouts")
    candidate = {"modelVersion": "v2", "quality": _quality().to_wire()}
    monitor = {
        **_monitor(),
        "spec": spec.to_wire(),
        "status": {"lastEvaluation": _evaluation().to_wire(), "candidateEvaluation": candidate},
    }
    cluster = FakeCluster("get", "annotate", "event", objects=[_deployment(), monitor])
    assert pause_rollouts(cluster, monitor) == [PAUSE, QUALITY_PAUSE]
    deployment = cluster.get("modelplane.io/v1alpha1", "ModelDeployment", "fraud", "team-a")
    assert DriftPause.parse(deployment["metadata"]["annotations"][DRIFT_PAUSE]) == QUALITY_PAUSE
    stored = cluster.get("modelplane.io/v1alpha1", "DriftMonitor", "fraud-inputs", "team-a")
    remembered = stored["metadata"]["annotations"]
    assert (remembered[PAUSED_FOR], remembered[QUALITY_PAUSED_FOR]) == (END_KEY, END_KEY)
    again = {**monitor, "metadata": stored["metadata"]}
    assert pause_rollouts(cluster, again) == []  # the next watch event asks nothing more

    status = result_patch(again, END)
    assert status is not None
    (paused,) = [c for c in conditions_of(status) if c.type == "RolloutsPaused"]
    assert (paused.status, paused.reason) == ("True", "QualityDegraded")
    assert "v2" in paused.message
    assert "mae 0.51 > max 0.2" in paused.message


END_KEY = "2026-12-07T15:00:00Z"
