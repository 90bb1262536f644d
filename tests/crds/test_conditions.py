"""The condition helpers keep the Flux / kstatus contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from modelplane_crds.conditions import (
    READY,
    RECONCILING,
    STALLED,
    Condition,
    derive_phase,
    get_condition,
    mark_ready,
    mark_reconciling,
    mark_retrying,
    mark_stalled,
    set_condition,
)

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def types(conditions: list[Condition]) -> list[str]:
    return [c.type for c in conditions]


def test_set_condition_adds_a_missing_condition_stamped_with_generation_and_time() -> None:
    result = set_condition([], READY, "True", "Succeeded", "ok", generation=3, now=T0)
    [ready] = result
    assert (ready.status, ready.reason, ready.message) == ("True", "Succeeded", "ok")
    assert ready.observed_generation == 3
    assert ready.last_transition_time == T0.replace(microsecond=0)


def test_last_transition_time_is_kept_when_the_status_does_not_change() -> None:
    first = set_condition([], READY, "False", "PodsNotReady", "0/2", generation=1, now=T0)
    second = set_condition(first, READY, "False", "AnalysisFailed", "bad", generation=2, now=T1)
    ready = get_condition(second, READY)
    assert ready is not None
    assert ready.last_transition_time == T0.replace(microsecond=0)
    assert (ready.reason, ready.message, ready.observed_generation) == ("AnalysisFailed", "bad", 2)


def test_last_transition_time_moves_when_the_status_changes() -> None:
    first = set_condition([], READY, "False", "PodsNotReady", "", generation=1, now=T0)
    second = set_condition(first, READY, "True", "Succeeded", "", generation=1, now=T1)
    assert second[0].last_transition_time == T1.replace(microsecond=0)


def test_set_condition_replaces_in_place_and_leaves_the_input_untouched() -> None:
    start = set_condition([], "ArtifactVerified", "True", "Verified", "", 1, T0)
    start = set_condition(start, READY, "Unknown", "Verifying", "", 1, T0)
    result = set_condition(start, "ArtifactVerified", "False", "DigestMismatch", "", 2, T1)
    assert types(result) == ["ArtifactVerified", READY]
    assert start[0].status == "True"


def test_mark_ready_removes_reconciling_and_stalled() -> None:
    conditions = mark_reconciling([], "Progressing", "rolling out", 4, T0)
    conditions = set_condition(conditions, STALLED, "True", "InvalidSpec", "", 4, T0)
    result = mark_ready(conditions, "RolloutComplete", "serving v2", 5, T1)
    assert types(result) == [READY]
    assert result[0].status == "True"
    assert result[0].observed_generation == 5


def test_mark_reconciling_sets_ready_unknown_and_removes_stalled() -> None:
    stalled = mark_stalled([], "InvalidSpec", "bad", 1, T0)
    result = mark_reconciling(stalled, "Progressing", "working", 2, T1)
    assert sorted(types(result)) == [READY, RECONCILING]
    ready = get_condition(result, READY)
    assert ready is not None
    assert ready.status == "Unknown"


def test_mark_stalled_sets_ready_false_and_removes_reconciling() -> None:
    reconciling = mark_reconciling([], "Progressing", "", 1, T0)
    result = mark_stalled(reconciling, "InvalidSpec", "candidate missing", 1, T1)
    assert sorted(types(result)) == [READY, STALLED]
    ready = get_condition(result, READY)
    assert ready is not None
    assert (ready.status, ready.reason) == ("False", "InvalidSpec")


def test_mark_retrying_keeps_reconciling_true_with_progressing_with_retry() -> None:
    result = mark_retrying([], "ArtifactUnreachable", "timeout", 1, T0)
    reconciling = get_condition(result, RECONCILING)
    ready = get_condition(result, READY)
    assert reconciling is not None
    assert reconciling.reason == "ProgressingWithRetry"
    assert ready is not None
    assert (ready.status, ready.reason) == ("False", "ArtifactUnreachable")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        set_condition([], READY, "True", "Succeeded", "", 1, datetime(2026, 1, 1))


def test_condition_reason_must_be_camel_case() -> None:
    with pytest.raises(ValueError, match="reason"):
        set_condition([], READY, "True", "not ok", "", 1, T0)


@pytest.mark.parametrize(
    ("build", "generation", "phase"),
    [
        (lambda: [], 1, "Pending"),
        (lambda: mark_ready([], "Succeeded", "", 2, T0), 2, "Ready"),
        (lambda: mark_ready([], "Succeeded", "", 1, T0), 2, "Progressing"),
        (lambda: mark_reconciling([], "Progressing", "", 2, T0), 2, "Progressing"),
        (lambda: mark_stalled([], "InvalidSpec", "", 2, T0), 2, "Stalled"),
        (lambda: set_condition([], READY, "False", "AnalysisFailed", "", 2, T0), 2, "Failed"),
        (lambda: mark_retrying([], "ArtifactUnreachable", "", 2, T0), 2, "Progressing"),
    ],
    ids=[
        "no-conditions",
        "ready",
        "ready-for-old-generation",
        "reconciling",
        "stalled",
        "not-ready",
        "retrying",
    ],
)
def test_phase_is_derived_from_conditions_and_generation(
    build: object, generation: int, phase: str
) -> None:
    assert callable(build)
    assert derive_phase(build(), generation) == phase
