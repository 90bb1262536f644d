"""Every transition of the rollout state machine, with time and observations passed in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from modelplane_crds.model_deployment import Measurement, ModelDeploymentStatus
from modelplane_operator.rollout.machine import Verdict, analysis_due, plan
from tests.operator.factories import (
    T0,
    condition,
    facts,
    make_spec,
    reasons,
    replicas,
    roundtrip,
    run,
    settled,
)

STEPS: list[dict[str, Any]] = [
    {"setWeight": 10},
    {"pause": {"duration": "5m"}},
    {"setWeight": 50},
    {"pause": {}},
    {"analysis": {"intervals": 2}},
    {"setWeight": 100},
]
ANALYSIS: dict[str, Any] = {
    "interval": "1m",
    "minSamples": 10,
    "failureLimit": 2,
    "checks": {"errorRate": {"max": 0.01}},
}
BOTH = {"v1": 2, "v2": 2}


def _measure(value: float, passed: bool | None, at_min: int = 0) -> Measurement:
    return Measurement(
        at=T0 + timedelta(minutes=at_min),
        check="errorRate",
        value=value,
        threshold=0.01,
        passed=passed,
        samples=100,
    )


PASS = Verdict("passed", (_measure(0.0, True),))
FAIL = Verdict("failed", (_measure(0.2, False),), "errorRate 0.2 > 0.01")
UNSURE = Verdict("inconclusive", (_measure(0.0, None),), "3 of 10 samples")


def _at_step(index: int, **spec_kw: Any) -> ModelDeploymentStatus:
    """Status of a rollout of v2 that has reached step `index` of STEPS at T0."""
    spec = make_spec(steps=STEPS, analysis=ANALYSIS, **spec_kw)
    status = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    status.current_step = index
    status.step_started_at = T0
    if index > 0:
        status.traffic = status.traffic.model_copy(update={"stable": 90, "candidate": 10})  # type: ignore[union-attr]
    return roundtrip(status)


# --- serving without a rollout ----------------------------------------------------------


def test_new_deployment_waits_for_stable_pods_then_is_ready_with_url_and_mode() -> None:
    spec = make_spec(None, scaling={"replicas": 2})
    first = run(spec, None, facts(T0, {}))
    assert replicas(first) == {"v1": 2}
    assert condition(first.status, "Ready") == ("Unknown", "PodsNotReady")
    assert condition(first.status, "Reconciling") == ("True", "PodsNotReady")
    assert first.status.phase == "Progressing"
    ready = run(spec, first.status, facts(T0, {"v1": 2}))
    assert condition(ready.status, "Ready") == ("True", "RolloutComplete")
    assert condition(ready.status, "Reconciling") is None
    assert ready.status.phase == "Ready"
    assert ready.status.url == "http://fraud.mp-acme.svc.cluster.local"
    assert ready.status.traffic_mode == "HTTPRoute"
    assert ready.status.stable_version == "v1"
    assert ready.status.observed_generation == 1
    assert ready.backends == [("v1", 100)]


def test_missing_stable_model_version_is_reported_and_nothing_is_built_for_it() -> None:
    result = run(make_spec(None), None, facts(T0, {}, versions={}))
    assert condition(result.status, "Ready") == ("Unknown", "ModelVersionNotFound")
    assert result.requeue_after is not None


# --- canary steps -------------------------------------------------------------------------


def test_setting_a_candidate_starts_at_step_0_and_waits_for_its_pods_before_any_traffic() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS, scaling={"replicas": 4})
    base = settled(spec, {"v1": 4})
    result = run(spec, base, facts(T0, {"v1": 4}))
    assert "RolloutStarted" in reasons(result)
    assert result.status.candidate_version == "v2"
    assert result.status.current_step == 0
    assert result.status.rollout_state == "Progressing"
    assert result.status.traffic is not None
    assert result.status.traffic.candidate == 0
    assert replicas(result) == {"v1": 4, "v2": 1}
    assert result.backends == [("v1", 100), ("v2", 0)]
    assert condition(result.status, "Reconciling") == ("True", "PodsNotReady")
    assert condition(result.status, "CandidateHealthy") == ("Unknown", "CanaryProgressing")


def test_ready_candidate_gets_its_weight_and_the_rollout_moves_to_the_next_step() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    started = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    later = T0 + timedelta(seconds=20)
    result = run(spec, started, facts(later, {"v1": 1, "v2": 1}))
    assert result.status.current_step == 1
    assert result.status.step_started_at == later
    assert result.status.traffic is not None
    assert (result.status.traffic.stable, result.status.traffic.candidate) == (90, 10)
    assert result.backends == [("v1", 90), ("v2", 10)]
    assert "StepCompleted" in reasons(result)
    assert condition(result.status, "Reconciling") == ("True", "CanaryPaused")


def test_timed_pause_holds_until_its_duration_has_passed_since_the_step_began() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    status = _at_step(1)
    holding = run(spec, status, facts(T0 + timedelta(minutes=2), BOTH))
    assert holding.status.current_step == 1
    assert holding.requeue_after is not None
    assert holding.requeue_after <= 180
    over = run(spec, status, facts(T0 + timedelta(minutes=5), BOTH))
    assert over.status.current_step == 3  # and setWeight 50 is done at once: pods are Ready
    assert over.status.traffic is not None
    assert over.status.traffic.candidate == 50


def test_indefinite_pause_waits_for_the_promote_annotation_and_consumes_it() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    status = _at_step(3)
    waiting = run(spec, status, facts(T0 + timedelta(hours=5), BOTH))
    assert waiting.status.current_step == 3
    assert not waiting.consume_promote
    assert condition(waiting.status, "Reconciling") == ("True", "CanaryPaused")
    promoted = run(spec, status, facts(T0 + timedelta(hours=5), BOTH, promote=True))
    assert promoted.status.current_step == 4
    assert promoted.consume_promote


def test_analysis_step_needs_consecutive_passing_intervals_and_inconclusive_is_not_a_pass() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    status = _at_step(4)
    one = run(spec, status, facts(T0 + timedelta(minutes=1), BOTH, verdict=PASS))
    assert one.status.current_step == 4
    assert one.status.analysis is not None
    assert one.status.analysis.passed_intervals == 1
    unsure = run(spec, one.status, facts(T0 + timedelta(minutes=2), BOTH, verdict=UNSURE))
    assert unsure.status.current_step == 4
    assert "AnalysisInconclusive" in reasons(unsure)
    two = run(spec, unsure.status, facts(T0 + timedelta(minutes=3), BOTH, verdict=PASS))
    # passed twice: setWeight 100 and promotion follow at once, the pods being Ready
    assert two.status.stable_version == "v2"
    assert two.status.analysis is not None
    assert [m.passed for m in two.status.analysis.measurements] == [True, None, True]
    assert condition(one.status, "CandidateHealthy") == ("True", "AnalysisPassed")
    assert condition(two.status, "CandidateHealthy") is None  # no candidate any more


def test_a_failed_interval_breaks_the_streak_and_counts_toward_the_limit() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    one = run(spec, _at_step(4), facts(T0 + timedelta(minutes=1), BOTH, verdict=PASS))
    failed = run(spec, one.status, facts(T0 + timedelta(minutes=2), BOTH, verdict=FAIL))
    assert failed.status.analysis is not None
    assert failed.status.analysis.passed_intervals == 0
    assert failed.status.analysis.failed_intervals == 1
    assert failed.status.rollout_state == "Progressing"  # failureLimit is 2
    assert condition(failed.status, "CandidateHealthy") == ("False", "AnalysisFailed")
    assert any(e.type == "Warning" and e.reason == "AnalysisFailed" for e in failed.events)


def test_reaching_the_failure_limit_rolls_back_and_records_why_when_and_what() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    first = run(spec, _at_step(4), facts(T0 + timedelta(minutes=1), BOTH, verdict=FAIL))
    now = T0 + timedelta(minutes=2)
    result = run(spec, first.status, facts(now, BOTH, verdict=FAIL))
    st = result.status
    assert st.rollout_state == "RolledBack"
    assert st.rollback is not None
    assert (st.rollback.reason, st.rollback.rejected_version) == ("AnalysisFailed", "v2")
    assert st.rollback.at == now
    assert "0.2" in st.rollback.message
    assert st.traffic is not None
    assert (st.traffic.stable, st.traffic.candidate) == (100, 0)
    assert replicas(result) == {"v1": 1, "v2": 0}
    assert result.backends == [("v1", 100), ("v2", 0)]
    assert condition(st, "Stalled") == ("True", "RolledBack")
    assert condition(st, "Ready") == ("False", "RolledBack")
    assert st.phase == "Stalled"
    assert "RolledBack" in reasons(result)
    assert st.analysis is not None
    assert len(st.analysis.measurements) == 2


def test_rolled_back_deployment_stays_rolled_back_while_the_spec_names_the_same_candidate() -> None:
    spec = make_spec(steps=STEPS, analysis={**ANALYSIS, "failureLimit": 1})
    back = run(spec, _at_step(4), facts(T0, BOTH, verdict=FAIL)).status
    for minutes in (1, 60, 600):
        again = run(spec, back, facts(T0 + timedelta(minutes=minutes), BOTH, promote=True))
        assert again.status.rollout_state == "RolledBack"
        assert again.status.current_step is None
        assert again.events == []
        assert again.consume_promote  # the useless annotation is removed, so it can settle
        assert replicas(again) == {"v1": 1, "v2": 0}
        back = again.status
    new = run(make_spec("v3", steps=STEPS, analysis=ANALYSIS), back, facts(T0, {"v1": 1}))
    assert new.status.rollout_state == "Progressing"
    assert new.status.candidate_version == "v3"
    assert new.status.current_step == 0
    assert new.status.rollback is not None  # the record of v2 stays as history
    assert new.status.rollback.rejected_version == "v2"


def test_a_promote_annotation_without_a_rollout_is_removed_and_changes_nothing() -> None:
    spec = make_spec(candidate=None)
    first = run(spec, None, facts(T0, {"v1": 1}))
    again = run(spec, first.status, facts(T0 + timedelta(seconds=10), {"v1": 1}, promote=True))
    assert again.consume_promote
    assert again.status.stable_version == "v1"
    assert again.status.rollout_state == "Idle"
    assert again.events == []
    quiet = run(spec, again.status, facts(T0 + timedelta(seconds=20), {"v1": 1}))
    assert not quiet.consume_promote


def test_on_failure_pause_holds_the_weight_until_promoted() -> None:
    spec = make_spec(steps=STEPS, analysis={**ANALYSIS, "failureLimit": 1}, onFailure="pause")
    status = _at_step(2)
    status.traffic = status.traffic.model_copy(update={"stable": 90, "candidate": 10})  # type: ignore[union-attr]
    paused = run(spec, status, facts(T0, BOTH, verdict=FAIL))
    assert paused.status.rollout_state == "Paused"
    assert paused.status.traffic is not None
    assert paused.status.traffic.candidate == 10
    assert condition(paused.status, "Stalled") == ("True", "AnalysisFailed")
    assert paused.status.rollback is None
    still = run(spec, paused.status, facts(T0 + timedelta(minutes=3), BOTH))
    assert still.status.rollout_state == "Paused"
    assert still.status.current_step == 2
    resumed = run(spec, paused.status, facts(T0 + timedelta(minutes=3), BOTH, promote=True))
    assert resumed.status.rollout_state == "Progressing"
    assert resumed.consume_promote
    assert resumed.status.analysis is not None
    assert resumed.status.analysis.failed_intervals == 0
    assert "Resumed" in reasons(resumed)


def test_after_the_last_step_the_candidate_is_scaled_to_full_size_then_promoted() -> None:
    spec = make_spec(steps=[{"setWeight": 50}], scaling={"replicas": 4})
    base = settled(spec, {"v1": 4})
    started = run(spec, base, facts(T0, {"v1": 4}))
    assert replicas(started) == {"v1": 4, "v2": 2}
    scaling = run(spec, started.status, facts(T0, {"v1": 4, "v2": 2}))
    assert scaling.status.current_step == 1
    assert replicas(scaling) == {"v1": 4, "v2": 4}  # old stable untouched until v2 is full
    assert scaling.status.traffic is not None
    assert scaling.status.traffic.candidate == 50
    assert scaling.status.stable_version == "v1"
    done = run(spec, scaling.status, facts(T0, {"v1": 4, "v2": 4}))
    assert done.status.stable_version == "v2"
    assert done.status.candidate_version is None
    assert done.status.rollout_state == "Idle"
    assert [(v.version, v.role, v.replicas) for v in done.variants] == [("v2", "stable", 4)]
    assert done.backends == [("v2", 100)]
    assert "Promoted" in reasons(done)
    assert condition(done.status, "Ready") == ("True", "RolloutComplete")
    assert condition(done.status, "CandidateHealthy") is None


def test_manual_promotion_waits_after_the_last_step_and_uses_the_annotation_once() -> None:
    spec = make_spec(steps=[{"setWeight": 20}], promotion="manual")
    started = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    waiting = run(spec, started, facts(T0, {"v1": 1, "v2": 1}))
    assert condition(waiting.status, "Reconciling") == ("True", "AwaitingPromotion")
    assert waiting.status.stable_version == "v1"
    done = run(spec, waiting.status, facts(T0, {"v1": 1, "v2": 1}, promote=True))
    assert done.status.stable_version == "v2"
    assert done.consume_promote


def test_promotion_annotation_is_kept_until_the_promotion_really_happens() -> None:
    spec = make_spec(steps=[{"setWeight": 20}], promotion="manual", scaling={"replicas": 3})
    started = run(spec, settled(spec, {"v1": 3}), facts(T0, {"v1": 3})).status
    waiting = run(spec, started, facts(T0, {"v1": 3, "v2": 1})).status
    growing = run(spec, waiting, facts(T0, {"v1": 3, "v2": 1}, promote=True))
    assert not growing.consume_promote
    assert growing.status.stable_version == "v1"
    assert replicas(growing) == {"v1": 3, "v2": 3}


def test_git_moving_the_promoted_candidate_to_stable_changes_nothing() -> None:
    spec = make_spec(steps=[{"setWeight": 100}])
    started = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    promoted = run(spec, started, facts(T0, {"v1": 1, "v2": 1})).status
    assert promoted.stable_version == "v2"
    still = run(spec, promoted, facts(T0, {"v2": 1}))
    assert still.events == []
    git = make_spec(None, stable={"modelVersionRef": {"name": "v2"}})
    after = run(git, promoted, facts(T0, {"v2": 1}))
    assert after.events == []
    assert replicas(after) == {"v2": 1}
    assert condition(after.status, "Ready") == ("True", "RolloutComplete")


def test_candidate_changed_mid_rollout_restarts_from_step_0_with_the_new_candidate() -> None:
    status = _at_step(3)
    spec = make_spec("v3", steps=STEPS, analysis=ANALYSIS)
    result = run(spec, status, facts(T0 + timedelta(minutes=9), {"v1": 1, "v2": 1}))
    assert "CandidateChanged" in reasons(result)
    assert result.status.candidate_version == "v3"
    assert result.status.current_step == 0
    assert result.status.step_started_at == T0 + timedelta(minutes=9)
    assert result.status.traffic is not None
    assert result.status.traffic.candidate == 0
    assert result.status.analysis is not None
    assert result.status.analysis.measurements == []
    assert set(replicas(result)) == {"v1", "v3"}  # v2 is no longer wanted: retired


def test_candidate_removed_mid_rollout_sends_everything_back_to_stable() -> None:
    result = run(make_spec(None), _at_step(3), facts(T0, BOTH))
    assert "RolloutAborted" in reasons(result)
    assert result.status.candidate_version is None
    assert replicas(result) == {"v1": 1}
    assert result.backends == [("v1", 100)]


def test_candidate_pods_losing_readiness_take_its_traffic_away_without_moving_the_step() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    status = _at_step(1)
    result = run(spec, status, facts(T0 + timedelta(minutes=1), {"v1": 1, "v2": 0}))
    assert result.status.traffic is not None
    assert result.status.traffic.candidate == 0
    assert result.backends == [("v1", 100), ("v2", 0)]
    assert result.status.current_step == 1
    assert any(e.type == "Warning" and e.reason == "PodsNotReady" for e in result.events)
    back = run(spec, result.status, facts(T0 + timedelta(minutes=2), BOTH))
    assert back.status.traffic is not None
    assert back.status.traffic.candidate == 10


def test_candidate_model_version_not_ready_holds_the_rollout_at_zero_traffic() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    result = run(
        spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1}, versions={"v1": True, "v2": False})
    )
    assert condition(result.status, "Reconciling") == ("True", "ModelVersionNotReady")
    assert replicas(result) == {"v1": 1}


# --- replica-ratio mode -------------------------------------------------------------------


def test_replica_ratio_mode_scales_stable_down_only_as_candidate_pods_become_ready() -> None:
    spec = make_spec(steps=[{"setWeight": 50}, {"pause": {}}], scaling={"replicas": 4})
    base = settled(spec, {"v1": 4}, mode="ReplicaRatio")
    start = run(spec, base, facts(T0, {"v1": 4}, mode="ReplicaRatio"))
    assert replicas(start) == {"v1": 4, "v2": 2}
    half = run(spec, start.status, facts(T0, {"v1": 4, "v2": 1}, mode="ReplicaRatio"))
    assert replicas(half) == {"v1": 3, "v2": 2}
    assert half.status.current_step == 0
    full = run(spec, half.status, facts(T0, {"v1": 3, "v2": 2}, mode="ReplicaRatio"))
    assert replicas(full) == {"v1": 2, "v2": 2}
    assert full.status.current_step == 1
    assert full.status.traffic_mode == "ReplicaRatio"
    assert full.status.traffic is not None
    assert full.status.traffic.candidate == 40  # 2 of 5 Ready pods until v1 has shrunk
    settled_ = run(spec, full.status, facts(T0, {"v1": 2, "v2": 2}, mode="ReplicaRatio"))
    assert settled_.status.traffic is not None
    assert settled_.status.traffic.candidate == 50


def test_replica_ratio_reports_the_weight_the_pods_really_give() -> None:
    spec = make_spec(steps=[{"setWeight": 10}, {"pause": {}}])  # one pod: 1 + 1 is 50 %
    base = settled(spec, {"v1": 1}, mode="ReplicaRatio")
    started = run(spec, base, facts(T0, {"v1": 1}, mode="ReplicaRatio")).status
    result = run(spec, started, facts(T0, {"v1": 1, "v2": 1}, mode="ReplicaRatio"))
    assert replicas(result) == {"v1": 1, "v2": 1}
    assert result.status.traffic is not None
    assert result.status.traffic.candidate == 50


def test_autoscaled_variants_get_hpa_bounds_sized_for_their_share() -> None:
    spec = make_spec(
        steps=[{"setWeight": 10}, {"pause": {}}], scaling={"minReplicas": 2, "maxReplicas": 10}
    )
    result = run(spec, settled(spec, {"v1": 2}), facts(T0, {"v1": 2}))
    bounds = {v.version: (v.replicas, v.hpa_min, v.hpa_max) for v in result.variants}
    assert bounds == {"v1": (None, 2, 10), "v2": (None, 1, 1)}


# --- stable changes without a canary ----------------------------------------------------


def test_changing_stable_without_candidate_switches_only_once_the_new_pods_are_ready() -> None:
    base = settled(make_spec(None), {"v1": 1})
    spec = make_spec(None, stable={"modelVersionRef": {"name": "v3"}})
    waiting = run(spec, base, facts(T0, {"v1": 1}))
    assert replicas(waiting) == {"v1": 1, "v3": 1}
    assert waiting.status.stable_version == "v1"
    assert waiting.backends == [("v1", 100), ("v3", 0)]
    assert condition(waiting.status, "Reconciling") == ("True", "SwitchingStable")
    done = run(spec, waiting.status, facts(T0, {"v1": 1, "v3": 1}))
    assert done.status.stable_version == "v3"
    assert replicas(done) == {"v3": 1}
    assert "StableSwitched" in reasons(done)


# --- no canary strategy -----------------------------------------------------------------


def test_without_canary_the_candidate_takes_all_traffic_then_must_pass_analysis_once() -> None:
    spec = make_spec(analysis=ANALYSIS)
    started = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    full = run(spec, started, facts(T0, {"v1": 1, "v2": 1}))
    assert full.status.traffic is not None
    assert full.status.traffic.candidate == 100
    assert full.status.stable_version == "v1"
    assert analysis_due(spec, full.status, T0 + timedelta(minutes=1))
    done = run(
        spec, full.status, facts(T0 + timedelta(minutes=1), {"v1": 1, "v2": 1}, verdict=PASS)
    )
    assert done.status.stable_version == "v2"


# --- analysis scheduling ----------------------------------------------------------------


def test_analysis_is_due_once_per_interval_while_the_candidate_has_traffic() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    at_zero = _at_step(0)
    assert not analysis_due(spec, at_zero, T0 + timedelta(minutes=5))  # no traffic yet
    paused = _at_step(1)
    assert not analysis_due(spec, paused, T0 + timedelta(seconds=30))
    assert analysis_due(spec, paused, T0 + timedelta(minutes=1))
    assert not analysis_due(make_spec(None), paused, T0 + timedelta(minutes=1))
    assert not analysis_due(make_spec(steps=[{"setWeight": 10}]), paused, T0 + timedelta(hours=1))


# --- restarts -----------------------------------------------------------------------------


def _drive(spec_steps: list[dict[str, Any]], duplicate: bool) -> list[tuple[object, ...]]:
    """Walk a whole rollout; with `duplicate`, every pass runs twice from the persisted status
    (an operator killed after writing status and restarted: handlers run at least once)."""
    spec = make_spec(steps=spec_steps, analysis=ANALYSIS)
    status = settled(spec, {"v1": 2})
    timeline: list[tuple[object, ...]] = []
    now = T0
    for tick in range(40):
        ready = {"v1": 2, "v2": 2 if tick >= 2 else 0}
        verdict = PASS if analysis_due(spec, status, now) else None
        promote = tick % 7 == 6
        result = run(spec, status, facts(now, ready, verdict=verdict, promote=promote))
        if duplicate:
            result = run(spec, result.status, facts(now, ready, promote=False))
        status = result.status
        timeline.append(
            (
                tick,
                status.stable_version,
                status.current_step,
                status.traffic.candidate if status.traffic else None,
            )
        )
        now += timedelta(minutes=1)
    return timeline


def test_a_restart_after_any_pass_continues_the_rollout_exactly_where_it_was() -> None:
    assert _drive(STEPS, duplicate=True) == _drive(STEPS, duplicate=False)
    final = _drive(STEPS, duplicate=True)[-1]
    assert final[1] == "v2"


@pytest.mark.parametrize("index", range(len(STEPS) + 1))
def test_restart_at_each_step_neither_skips_nor_repeats_it(index: int) -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    status = _at_step(index)
    now = T0 + timedelta(seconds=1)
    first = plan(spec, status, facts(now, BOTH))
    again = plan(spec, roundtrip(first.status), facts(now, BOTH))
    assert again.status.current_step == first.status.current_step
    assert again.status.traffic == first.status.traffic
    assert [e.reason for e in again.events if e.reason == "StepCompleted"] == []
    assert again.status.step_started_at == first.status.step_started_at


def test_restart_in_the_middle_of_an_analysis_keeps_the_counters() -> None:
    spec = make_spec(steps=STEPS, analysis=ANALYSIS)
    one = run(spec, _at_step(4), facts(T0 + timedelta(minutes=1), BOTH, verdict=PASS)).status
    restarted = run(spec, roundtrip(one), facts(T0 + timedelta(minutes=1, seconds=5), BOTH))
    assert restarted.status.analysis is not None
    assert restarted.status.analysis.passed_intervals == 1
    assert not analysis_due(spec, restarted.status, T0 + timedelta(minutes=1, seconds=30))


# --- shadow traffic -----------------------------------------------------------------------


def test_shadow_copies_go_to_the_candidate_once_it_has_a_ready_pod() -> None:
    spec = make_spec(
        steps=[{"pause": {}}],
        strategy={"canary": {"steps": [{"pause": {}}]}, "shadow": {"percent": 20}},
    )
    started = run(spec, settled(spec, {"v1": 1}), facts(T0, {"v1": 1})).status
    waiting = run(spec, started, facts(T0, {"v1": 1}))
    assert waiting.shadow == "v2"  # its Service exists; copies find no pod and pause
    assert waiting.status.traffic is not None
    assert waiting.status.traffic.mirror == 0
    result = run(spec, waiting.status, facts(T0, {"v1": 1, "v2": 1}))
    assert result.shadow == "v2"
    assert result.status.traffic is not None
    assert (result.status.traffic.candidate, result.status.traffic.mirror) == (0, 20)


def test_a_shadow_at_weight_0_gets_one_pod_and_no_endpoint_traffic_behind_one_service() -> None:
    spec = make_spec(strategy={"canary": {"steps": [{"pause": {}}]}, "shadow": {"percent": 20}})
    base = settled(spec, {"v1": 4}, mode="ReplicaRatio")
    result = run(spec, base, facts(T0, {"v1": 4, "v2": 1}, mode="ReplicaRatio"))
    sizes = {v.version: v.replicas for v in result.variants}
    assert sizes["v2"] == 1
    assert result.status.traffic is not None
    assert (result.status.traffic.candidate, result.status.traffic.mirror) == (0, 20)
    assert result.shadow == "v2"
    assert not any(e.reason == "ShadowUnsupported" for e in result.events)


def test_without_a_shadow_a_weight_0_candidate_has_no_pods() -> None:
    spec = make_spec(strategy={"canary": {"steps": [{"pause": {}}]}})
    base = settled(spec, {"v1": 4}, mode="ReplicaRatio")
    result = run(spec, base, facts(T0, {"v1": 4}, mode="ReplicaRatio"))
    assert {v.version: v.replicas for v in result.variants}.get("v2", 0) == 0
    assert result.shadow is None


def test_paused_by_hand_holds_step_traffic_and_analysis_until_unpaused() -> None:
    status = _at_step(1)  # a 5 minute pause step, 10 % to the candidate
    paused = make_spec(steps=STEPS, analysis=ANALYSIS, paused=True)
    later = T0 + timedelta(minutes=30)
    holding = run(paused, status, facts(later, BOTH))
    assert holding.status.current_step == 1
    assert holding.status.traffic is not None
    assert holding.status.traffic.candidate == 10
    assert condition(holding.status, "Reconciling") == ("True", "CanaryPaused")
    assert "paused by hand" in str(holding.status.conditions)
    assert (replicas(holding)["v2"] or 0) >= 1  # the candidate keeps its pods
    assert not analysis_due(paused, holding.status, later)
    resumed = run(make_spec(steps=STEPS, analysis=ANALYSIS), holding.status, facts(later, BOTH))
    assert resumed.status.current_step == 3  # the pause step's time is over: on to 50 %
    assert resumed.status.traffic is not None
    assert resumed.status.traffic.candidate == 50


def test_paused_without_a_candidate_changes_nothing() -> None:
    spec = make_spec(None, paused=True)
    ready = run(spec, None, facts(T0, {"v1": 1}))
    assert condition(ready.status, "Ready") == ("True", "RolloutComplete")
