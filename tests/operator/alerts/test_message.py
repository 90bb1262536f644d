"""The alert's content, drift and quality: state, deduplication key, webhook body, Alertmanager
alert (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from modelplane_crds.quality import QualityMetricResult
from modelplane_operator.alerts import alert_state, dedup_key
from modelplane_operator.alerts.message import alertmanager_alert, webhook_body
from tests.operator.alerts.conftest import MONITOR, make_evaluation, make_quality

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
    assert alert_state(evaluation, previously_firing=previously) == expected


@pytest.mark.parametrize(
    ("mae", "insufficient", "previously", "expected"),
    [
        (0.51, False, False, "firing"),
        (0.51, False, True, "firing"),
        (0.05, False, True, "resolved"),
        (0.05, False, False, None),
        (0.51, True, True, None),
        (0.05, True, False, None),
    ],
)
def test_quality_fires_while_degraded_and_resolves_once_after(
    mae: float, insufficient: bool, previously: bool, expected: str | None
) -> None:
    quality = make_quality(mae=mae, insufficient=insufficient, window_end=END)
    assert alert_state(quality, previously_firing=previously) == expected


def test_the_drift_webhook_body_is_unchanged_byte_for_byte() -> None:
    body = webhook_body(MONITOR, make_evaluation(window_end=END), "firing", "critical")
    assert body == (
        b'{"dataset":{"drifted":true,"share":0.5,"threshold":0.5},"deployment":"fraud-detector",'
        b'"driftedFeatures":[{"drifted":true,"feature":"amount","pValue":1e-09,"samples":1200,'
        b'"statistic":0.41,"test":"ks","threshold":0.05}],"driftedOutputs":[],'
        b'"id":"drift:0d1f5c2e-8a55-4c0b-9a57-3f1e2a6b7c90:2026-12-07T15:00:00Z",'
        b'"modelVersion":"fraud-detector-v3","monitor":{"name":"fraud-inputs",'
        b'"namespace":"mp-acme","uid":"0d1f5c2e-8a55-4c0b-9a57-3f1e2a6b7c90"},"samples":1200,'
        b'"severity":"critical","state":"firing","summary":"Dataset drift in '
        b'mp-acme/fraud-detector (fraud-detector-v3): 50% of features drifted (amount)",'
        b'"type":"drift.firing","window":{"end":"2026-12-07T15:00:00Z",'
        b'"start":"2026-12-07T14:00:00Z"}}'
    )


def test_quality_and_drift_of_one_window_have_their_own_keys() -> None:
    quality = make_quality(window_end=END)
    assert dedup_key(MONITOR, quality) == f"quality:{MONITOR.uid}:2026-12-07T15:00:00Z"
    assert dedup_key(MONITOR, quality) != dedup_key(MONITOR, make_evaluation(window_end=END))
    assert webhook_body(MONITOR, quality, "firing", "warning") == webhook_body(
        MONITOR, make_quality(window_end=END), "firing", "warning"
    )


def test_the_quality_webhook_body_carries_the_scored_windows_result() -> None:
    body = json.loads(webhook_body(MONITOR, make_quality(window_end=END), "firing", "critical"))
    assert body["id"] == f"quality:{MONITOR.uid}:2026-12-07T15:00:00Z"
    assert (body["type"], body["state"], body["severity"]) == (
        "quality.firing",
        "firing",
        "critical",
    )
    assert body["monitor"] == {"namespace": "mp-acme", "name": "fraud-inputs", "uid": MONITOR.uid}
    assert (body["deployment"], body["modelVersion"]) == ("fraud-detector", "fraud-detector-v3")
    assert body["window"] == {"start": "2026-12-07T14:00:00Z", "end": "2026-12-07T15:00:00Z"}
    assert (body["labelledRows"], body["predictions"], body["degraded"]) == (812, 5120, True)
    assert body["labelsUntil"] == "2026-12-07T15:05:00Z"
    assert body["metrics"][0] == {
        "metric": "mae",
        "value": 0.51,
        "max": 0.2,
        "passed": False,
        "rows": 812,
    }
    assert [m["metric"] for m in body["metrics"]] == ["mae", "rmse"]
    assert body["summary"] == (
        "Quality degraded in mp-acme/fraud-detector (fraud-detector-v3):"
        " mae 0.51 > max 0.2 (812 labelled)"
    )
    assert "driftedFeatures" not in body


def test_a_quality_resolve_says_the_metrics_are_back() -> None:
    quality = make_quality(mae=0.05, window_end=END)
    body = json.loads(webhook_body(MONITOR, quality, "resolved", "warning"))
    assert (body["type"], body["degraded"]) == ("quality.resolved", False)
    assert body["summary"] == (
        "Quality back within thresholds for mp-acme/fraud-detector (fraud-detector-v3)"
        " (812 labelled)"
    )


def test_the_quality_alert_has_the_drift_alerts_identity_under_its_own_name() -> None:
    drift = alertmanager_alert(MONITOR, make_evaluation(window_end=END), "firing", "warning", NOW)
    quality = alertmanager_alert(MONITOR, make_quality(window_end=END), "firing", "warning", NOW)
    assert quality["labels"] == drift["labels"] | {"alertname": "ModelplaneQualityDegraded"}
    assert quality["annotations"] == {
        "summary": "Quality degraded in mp-acme/fraud-detector (fraud-detector-v3):"
        " mae 0.51 > max 0.2 (812 labelled)",
        "failing_metrics": "mae 0.51 > max 0.2",
        "labelled_rows": "812",
        "window_start": "2026-12-07T14:00:00Z",
        "window_end": "2026-12-07T15:00:00Z",
        "evaluation": f"quality:{MONITOR.uid}:2026-12-07T15:00:00Z",
    }
    assert (quality["startsAt"], quality["endsAt"]) == (drift["startsAt"], drift["endsAt"])
    resolved = alertmanager_alert(
        MONITOR, make_quality(mae=0.05, window_end=END), "resolved", "warning", NOW
    )
    assert resolved["endsAt"] == "2026-12-07T15:05:00Z"
    assert resolved["annotations"]["failing_metrics"] == ""


def test_a_quality_below_its_minimum_is_named_with_it() -> None:
    quality = make_quality(window_end=END)
    low = QualityMetricResult(metric="accuracy", value=0.87, min=0.9, passed=False, rows=812)
    quality = quality.model_copy(update={"metrics": [low, *quality.metrics]})
    alert = alertmanager_alert(MONITOR, quality, "firing", "warning", NOW)
    assert alert["annotations"]["failing_metrics"] == "accuracy 0.87 < min 0.9; mae 0.51 > max 0.2"


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
