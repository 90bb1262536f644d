"""The alert's content: state, deduplication key, webhook body, Alertmanager alert (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelplane_operator.alerts import alert_state, dedup_key
from modelplane_operator.alerts.message import alertmanager_alert, webhook_body
from tests.operator.alerts.conftest import MONITOR, make_evaluation

END = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
NOW = END + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("drifted", "insufficient", "previously", "expected"),
    [
        (True, False, False, "firing"),
        (True, False, True, "firing"),
        (False, False, True, "resolved"),
        (False, False, False, None),
        (False, True, True, None),
        (False, True, False, None),
    ],
)
def test_the_state_fires_while_drifting_and_resolves_once_after(
    drifted: bool, insufficient: bool, previously: bool, expected: str | None
) -> None:
    evaluation = make_evaluation(drifted=drifted, insufficient=insufficient, window_end=END)
    assert alert_state(evaluation, previously_drifted=previously) == expected


def test_one_evaluation_has_one_key_and_one_body_however_often_it_is_built() -> None:
    first = make_evaluation(window_end=END)
    again = make_evaluation(window_end=END)
    later = make_evaluation(window_end=END + timedelta(hours=1))
    assert (
        dedup_key(MONITOR, first)
        == dedup_key(MONITOR, again)
        == (f"drift:{MONITOR.uid}:2026-12-07T15:00:00Z")
    )
    assert webhook_body(MONITOR, first, "firing", "warning") == webhook_body(
        MONITOR, again, "firing", "warning"
    )
    assert dedup_key(MONITOR, later) != dedup_key(MONITOR, first)


def test_a_monitor_without_uid_is_keyed_by_namespace_and_name() -> None:
    key = dedup_key(replace(MONITOR, uid=""), make_evaluation(window_end=END))
    assert key == "drift:mp-acme/fraud-inputs:2026-12-07T15:00:00Z"


def test_the_webhook_body_names_the_monitor_window_share_and_drifted_features() -> None:
    body = json.loads(webhook_body(MONITOR, make_evaluation(window_end=END), "firing", "critical"))
    assert body["id"] == dedup_key(MONITOR, make_evaluation(window_end=END))
    assert body["type"] == "drift.firing"
    assert body["severity"] == "critical"
    assert body["monitor"] == {"namespace": "mp-acme", "name": "fraud-inputs", "uid": MONITOR.uid}
    assert (body["deployment"], body["modelVersion"]) == ("fraud-detector", "fraud-detector-v3")
    assert body["window"] == {"start": "2026-12-07T14:00:00Z", "end": "2026-12-07T15:00:00Z"}
    assert body["dataset"] == {"share": 0.5, "threshold": 0.5, "drifted": True}
    assert [f["feature"] for f in body["driftedFeatures"]] == ["amount"]
    assert body["driftedFeatures"][0]["pValue"] == pytest.approx(1e-9)
    assert "50% of features drifted (amount)" in body["summary"]


def test_alertmanager_labels_identify_the_episode_not_the_evaluation() -> None:
    first = alertmanager_alert(MONITOR, make_evaluation(window_end=END), "firing", "warning", NOW)
    later = alertmanager_alert(
        MONITOR,
        make_evaluation(window_end=END + timedelta(hours=1)),
        "firing",
        "warning",
        NOW + timedelta(hours=1),
    )
    assert (
        first["labels"]
        == later["labels"]
        == {
            "alertname": "ModelplaneDatasetDrift",
            "namespace": "mp-acme",
            "monitor": "fraud-inputs",
            "deployment": "fraud-detector",
            "model_version": "fraud-detector-v3",
            "severity": "warning",
        }
    )
    assert first["annotations"]["drifted_features"] == "amount"
    assert first["annotations"]["drift_share"] == "0.5000"


def test_a_firing_alert_lasts_four_periods_and_a_resolve_ends_now() -> None:
    evaluation = make_evaluation(window_end=END)
    firing = alertmanager_alert(MONITOR, evaluation, "firing", "warning", NOW)
    assert firing["startsAt"] == "2026-12-07T14:00:00Z"
    assert firing["endsAt"] == "2026-12-07T19:05:00Z"
    quarter = alertmanager_alert(
        MONITOR, evaluation, "firing", "warning", NOW, period=timedelta(minutes=15)
    )
    assert quarter["endsAt"] == "2026-12-07T16:05:00Z"
    resolved = alertmanager_alert(
        MONITOR, make_evaluation(drifted=False, window_end=END), "resolved", "warning", NOW
    )
    assert resolved["endsAt"] == "2026-12-07T15:05:00Z"
    assert resolved["labels"] == firing["labels"]
