"""The Alertmanager sink against Debian's Alertmanager: firing, re-sent, then resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import httpx

from modelplane_operator.alerts import AlertmanagerTarget, RetryPolicy, send_alerts
from tests.operator.alerts.conftest import MONITOR, make_evaluation
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
            make_evaluation(window_end=end), previously_drifted=previously, now=datetime.now(UTC)
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
    [delivery] = send(later, previously_drifted=True, now=datetime.now(UTC))
    assert (delivery.outcome, delivery.state) == ("Delivered", "resolved")
    assert alertmanager.active_alerts() == []
