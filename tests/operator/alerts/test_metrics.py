"""`modelplane_drift_alerts_total` and `modelplane_quality_alerts_total`, counted by the operator
from the deliveries in status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelplane_crds.drift_monitor import AlertDelivery
from modelplane_operator.metrics import Metrics

T0 = datetime(2026, 12, 7, 15, 5, tzinfo=UTC)


def _delivery(
    sink: int, outcome: str, at: datetime = T0, key: str = "drift:uid:T15", alert: str = "drift"
) -> AlertDelivery:
    return AlertDelivery.model_validate(
        {
            "sink": sink,
            "alert": alert,
            "type": "webhook" if sink else "alertmanager",
            "key": key,
            "state": "firing",
            "outcome": outcome,
            "reason": "Accepted" if outcome == "Delivered" else "ServerError",
            "attempts": 1,
            "time": at,
        }
    )


def _count(metrics: Metrics, sink: str, outcome: str, alert: str = "drift") -> float | None:
    labels = {"namespace": "mp-acme", "monitor": "fraud", "sink": sink, "outcome": outcome}
    return metrics.registry.get_sample_value(f"modelplane_{alert}_alerts_total", labels)


def test_each_delivery_in_status_is_counted_once_across_passes() -> None:
    metrics = Metrics()
    first = [_delivery(0, "Delivered"), _delivery(1, "Failed")]
    metrics.drift_alerts.record("mp-acme", "fraud", first)
    metrics.drift_alerts.record("mp-acme", "fraud", first)  # the next pass reads the same status
    assert _count(metrics, "alertmanager", "delivered") == 1
    assert _count(metrics, "webhook", "failed") == 1

    # A re-run keeps the delivered record and delivers the failed one.
    rerun = [first[0], _delivery(1, "Delivered", at=T0 + timedelta(minutes=2))]
    metrics.drift_alerts.record("mp-acme", "fraud", rerun)
    assert _count(metrics, "alertmanager", "delivered") == 1
    assert _count(metrics, "webhook", "delivered") == 1
    assert _count(metrics, "webhook", "failed") == 1

    metrics.drift_alerts.forget("mp-acme", "fraud")
    assert _count(metrics, "webhook", "delivered") is None


def test_quality_deliveries_are_counted_apart_from_drifts() -> None:
    metrics = Metrics()
    drift = [_delivery(0, "Delivered")]
    quality = [_delivery(0, "Failed", key="quality:uid:T15", alert="quality")]
    metrics.drift_alerts.record("mp-acme", "fraud", [*drift, *quality])
    metrics.drift_alerts.record("mp-acme", "fraud", [*drift, *quality])
    assert _count(metrics, "alertmanager", "delivered") == 1
    assert _count(metrics, "alertmanager", "failed") is None
    assert _count(metrics, "alertmanager", "failed", alert="quality") == 1
    assert _count(metrics, "alertmanager", "delivered", alert="quality") is None

    metrics.drift_alerts.forget("mp-acme", "fraud")
    assert _count(metrics, "alertmanager", "failed", alert="quality") is None
