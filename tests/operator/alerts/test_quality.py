"""Quality alerts as the drift job sends them: the state it carries from run to run in the
monitor's status, re-runs of one window, and `status.alerts` holding each kind's last records
(`drift.alerting.deliver` against a real HTTP receiver)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from modelplane_crds.drift_monitor import AlertDelivery, DriftMonitorStatus
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.quality import QualityEvaluation
from modelplane_operator.alerts import dedup_key, latest, verify_signature
from modelplane_operator.drift.alerting import deliver, previously_degraded
from modelplane_operator.drift.monitor import evaluated_status
from tests.operator.alerts.conftest import MONITOR, make_evaluation, make_quality
from tests.operator.conftest import Receiver

SECRET = b"whsec_" + b"0123456789abcdef" * 2
HOUR = datetime(2026, 12, 7, 15, tzinfo=UTC)


def _monitor(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"namespace": MONITOR.namespace, "name": MONITOR.name, "uid": MONITOR.uid},
        "spec": {
            "deploymentRef": {"name": MONITOR.deployment},
            "alerts": [
                {
                    "webhook": {
                        "urlSecretRef": {"name": "hooks", "key": "url"},
                        "signingSecretRef": {"name": "hooks", "key": "key"},
                    },
                    "severity": "critical",
                }
            ],
        },
        "status": status,
    }


@pytest.fixture
def secrets(receiver: Receiver, tmp_path: Path) -> Path:
    """The sink's Secret as the CronJob mounts it."""
    (tmp_path / "hooks").mkdir()
    (tmp_path / "hooks" / "url").write_text(receiver.url)
    (tmp_path / "hooks" / "key").write_bytes(SECRET)
    return tmp_path


def _run(
    status: dict[str, Any], drift: DriftEvaluation, quality: QualityEvaluation, secrets: Path
) -> dict[str, Any]:
    """One job run as `drift.cli` makes it: alerts from the status read before the write, then
    the merged status."""
    alerts = deliver(
        _monitor(status), drift, MONITOR.model_version, datetime.now(UTC), secrets, quality
    )
    written = evaluated_status(status, drift, MONITOR.model_version, HOUR)
    written["lastQuality"] = quality.to_wire()
    if alerts is not None:
        written["alerts"] = alerts
    DriftMonitorStatus.model_validate(status | written)  # the shape the CRD accepts
    return status | written


def _events(receiver: Receiver) -> list[tuple[str, str]]:
    return [
        (r.headers["X-Modelplane-Event"], r.headers["Idempotency-Key"]) for r in receiver.requests
    ]


def test_quality_fires_once_per_window_resolves_once_and_sits_beside_drift(
    receiver: Receiver, secrets: Path
) -> None:
    first, second, third = HOUR, HOUR + timedelta(hours=1), HOUR + timedelta(hours=2)
    key = dedup_key(MONITOR, make_quality(window_end=first))

    # Degraded, no drift: the quality alert alone, signed like drift's.
    status = _run(
        {},
        make_evaluation(drifted=False, window_end=first),
        make_quality(window_end=first),
        secrets,
    )
    assert _events(receiver) == [("quality.firing", key)]
    [request] = receiver.requests
    stamp, signature = (
        request.headers["X-Modelplane-Timestamp"],
        request.headers["X-Modelplane-Signature"],
    )
    assert verify_signature(SECRET, stamp, request.body, signature, now=time.time())
    assert json.loads(request.body)["metrics"][0]["metric"] == "mae"
    assert [(a["alert"], a["state"], a["outcome"]) for a in status["alerts"]] == [
        ("quality", "firing", "Delivered")
    ]

    # The same window again (the next scheduled run inside the hour): nothing new to send.
    status = _run(
        status,
        make_evaluation(drifted=False, window_end=first),
        make_quality(window_end=first),
        secrets,
    )
    assert len(receiver.requests) == 1

    # Drift as well in the next window: both alerts, drift first, each its own record.
    status = _run(
        status, make_evaluation(window_end=second), make_quality(window_end=second), secrets
    )
    assert [e for e, _ in _events(receiver)[1:]] == ["drift.firing", "quality.firing"]
    assert [(a["alert"], a["state"]) for a in status["alerts"]] == [
        ("drift", "firing"),
        ("quality", "firing"),
    ]

    # Both recover: each is resolved once.
    status = _run(
        status,
        make_evaluation(drifted=False, window_end=third),
        make_quality(mae=0.05, window_end=third),
        secrets,
    )
    assert [e for e, _ in _events(receiver)[3:]] == ["drift.resolved", "quality.resolved"]
    resolve = json.loads(receiver.requests[-1].body)
    assert resolve["id"] == dedup_key(MONITOR, make_quality(window_end=third))
    assert resolve["degraded"] is False

    # Nothing wrong now or before: nothing sent, the last records stay.
    fourth = third + timedelta(hours=1)
    assert (
        deliver(
            _monitor(status),
            make_evaluation(drifted=False, window_end=fourth),
            MONITOR.model_version,
            datetime.now(UTC),
            secrets,
            make_quality(mae=0.05, window_end=fourth),
        )
        is None
    )
    assert len(receiver.requests) == 5


def test_a_rerun_that_finds_the_window_recovered_resolves_it(
    receiver: Receiver, secrets: Path
) -> None:
    drift = make_evaluation(drifted=False, window_end=HOUR)
    status = _run({}, drift, make_quality(window_end=HOUR), secrets)
    # More labels arrived by the next run of the same window (labelDelay 0s): within thresholds.
    status = _run(status, drift, make_quality(mae=0.05, window_end=HOUR), secrets)
    status = _run(status, drift, make_quality(mae=0.05, window_end=HOUR), secrets)
    assert [e for e, _ in _events(receiver)] == ["quality.firing", "quality.resolved"]


def test_too_few_labels_send_nothing_and_keep_the_episode_open(
    receiver: Receiver, secrets: Path
) -> None:
    drift = make_evaluation(drifted=False, window_end=HOUR)
    status = _run({}, drift, make_quality(window_end=HOUR), secrets)
    later = HOUR + timedelta(hours=1)
    status = _run(
        status,
        make_evaluation(drifted=False, window_end=later),
        make_quality(window_end=later, insufficient=True),
        secrets,
    )
    assert len(receiver.requests) == 1
    last = later + timedelta(hours=1)
    _run(
        status,
        make_evaluation(drifted=False, window_end=last),
        make_quality(mae=0.05, window_end=last),
        secrets,
    )
    assert [e for e, _ in _events(receiver)] == ["quality.firing", "quality.resolved"]


def _record(alert: str, key: str, state: str, sink: int = 0) -> AlertDelivery:
    return AlertDelivery.model_validate(
        {
            "sink": sink,
            "type": "webhook",
            "alert": alert,
            "key": key,
            "state": state,
            "outcome": "Delivered",
            "reason": "Accepted",
            "attempts": 1,
            "time": HOUR,
        }
    )


def _status(quality: QualityEvaluation | None, *records: AlertDelivery) -> dict[str, Any]:
    status: dict[str, Any] = {"alerts": [r.model_dump(mode="json", by_alias=True) for r in records]}
    if quality is not None:
        status["lastQuality"] = quality.to_wire()
    return status


@pytest.mark.parametrize(
    ("last", "records", "expected"),
    [
        (None, [], False),  # the first scored window
        (make_quality(window_end=HOUR), [], True),  # the window before was degraded
        (make_quality(mae=0.05, window_end=HOUR), [("quality", "quality:u:old", "firing")], False),
        # A rerun of this window: what was sent for it says.
        (make_quality(window_end=HOUR + timedelta(hours=1)), [("quality", "THIS", "firing")], True),
        (
            make_quality(mae=0.05, window_end=HOUR + timedelta(hours=1)),
            [("quality", "THIS", "resolved")],
            True,
        ),
        (
            make_quality(mae=0.05, window_end=HOUR + timedelta(hours=1)),
            [("quality", "quality:u:old", "resolved")],
            False,
        ),
        # The window before had too few labels: the last quality alert sent says.
        (
            make_quality(window_end=HOUR, insufficient=True),
            [("quality", "quality:u:old", "firing")],
            True,
        ),
        (
            make_quality(window_end=HOUR, insufficient=True),
            [("quality", "quality:u:old", "resolved")],
            False,
        ),
        (
            make_quality(window_end=HOUR, insufficient=True),
            [("drift", "drift:u:old", "firing")],
            False,
        ),
    ],
)
def test_previously_degraded_follows_the_window_before_this_one(
    last: QualityEvaluation | None, records: list[tuple[str, str, str]], expected: bool
) -> None:
    this = HOUR + timedelta(hours=1)
    key = dedup_key(MONITOR, make_quality(window_end=this))
    status = _status(last, *(_record(a, key if k == "THIS" else k, s) for a, k, s in records))
    assert previously_degraded(status, this, key) is expected


def test_status_keeps_the_last_records_of_each_kind() -> None:
    drift = [_record("drift", "drift:u:14", "firing", sink) for sink in (0, 1)]
    quality = [_record("quality", "quality:u:14", "firing", sink) for sink in (0, 1)]
    newer = [_record("quality", "quality:u:15", "resolved", sink) for sink in (0, 1)]
    assert latest([*drift, *quality], newer) == [*drift, *newer]
    assert latest(quality, drift) == [*drift, *quality]
    assert latest([], []) == []
    old = AlertDelivery.model_validate(
        {
            "sink": 0,
            "type": "webhook",
            "key": "drift:u:13",
            "state": "firing",
            "outcome": "Delivered",
            "reason": "Accepted",
            "attempts": 1,
            "time": HOUR,
        }
    )
    assert old.alert == "drift"  # a status written before quality alerts still parses
