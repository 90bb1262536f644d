"""The Alertmanager sink against Debian's Alertmanager: drift and quality alerts firing, re-sent,
then resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import httpx

from modelplane_operator.alerts import AlertmanagerTarget, RetryPolicy, send_alerts
from tests.operator.alerts.conftest import MONITOR, make_evaluation, make_quality
from tests.operator.conftest import Alertmanager

FAST = RetryPolicy(attempts=3, base=0.05, cap=0.2, total=5.0, timeout=5.0)


def test_drift_fires_in_alertmanager_and_resolves_when_it_ends(
    alertmanager: Alertmanager, client: httpx.Client
) -> None:
    target = AlertmanagerTarget(index=0, severity="critical", url=alertmanager.url + "/")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    send = partial(send_alerts, [target], MONITOR, client=client, policy=FAST)

    # Two evaluations in a row with drift: one alert, re-sent, with the latest annotations.
    for end, previously in ((hour - timedelta(hours=1), False), (hour, True)):
        [delivery] = send(
            make_evaluation(window_end=end), previously_firing=previously, now=datetime.now(UTC)
        )
        assert (delivery.outcome, delivery.state, delivery.attempts) == ("Delivered", "firing", 1)
    [alert] = alertmanager.active_alerts()
    assert alert["status"]["state"] == "active"
    assert alert["labels"] == {
        "alertname": "ModelplaneDatasetDrift",
        "namespace": "mp-acme",
        "monitor": "fraud-inputs",
        "deployment": "fraud-detector",
        "model_version": "fraud-detector-v3",
        "severity": "critical",
    }
    assert alert["annotations"]["drifted_features"] == "amount"
    assert alert["annotations"]["window_end"] == hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert alert["startsAt"].startswith((hour - timedelta(hours=2)).strftime("%Y-%m-%dT%H"))

    # The next evaluation finds no drift: the alert is resolved.
    later = make_evaluation(drifted=False, window_end=hour + timedelta(hours=1))
    [delivery] = send(later, previously_firing=True, now=datetime.now(UTC))
    assert (delivery.outcome, delivery.state) == ("Delivered", "resolved")
    assert alertmanager.active_alerts() == []


def test_degraded_quality_fires_beside_drift_and_resolves_alone(
    alertmanager: Alertmanager, client: httpx.Client
) -> None:
    target = AlertmanagerTarget(index=0, severity="warning", url=alertmanager.url)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    send = partial(send_alerts, [target], MONITOR, client=client, policy=FAST)

    for evaluation in (make_evaluation(window_end=hour), make_quality(window_end=hour)):
        [delivery] = send(evaluation, previously_firing=False, now=datetime.now(UTC))
        assert (delivery.outcome, delivery.state) == ("Delivered", "firing")
    alerts = {a["labels"]["alertname"]: a for a in alertmanager.active_alerts()}
    assert set(alerts) == {"ModelplaneDatasetDrift", "ModelplaneQualityDegraded"}
    quality = alerts["ModelplaneQualityDegraded"]
    assert quality["status"]["state"] == "active"
    assert quality["labels"] == alerts["ModelplaneDatasetDrift"]["labels"] | {
        "alertname": "ModelplaneQualityDegraded"
    }
    assert quality["annotations"]["failing_metrics"] == "mae 0.51 > max 0.2"
    assert quality["annotations"]["labelled_rows"] == "812"
    assert "mae 0.51 > max 0.2" in quality["annotations"]["summary"]

    # The next scored window is within thresholds: the quality alert ends, drift's stays.
    recovered = make_quality(mae=0.05, window_end=hour + timedelta(hours=1))
    [delivery] = send(recovered, previously_firing=True, now=datetime.now(UTC))
    assert (delivery.alert, delivery.outcome, delivery.state) == (
        "quality",
        "Delivered",
        "resolved",
    )
    [left] = alertmanager.active_alerts()
    assert left["labels"]["alertname"] == "ModelplaneDatasetDrift"
