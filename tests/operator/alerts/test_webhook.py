"""The webhook sink against a real HTTP receiver on loopback: signature, retries, refusals."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx

from modelplane_crds.base import SecretKeySelector
from modelplane_crds.drift_monitor import AlertDelivery, AlertSink
from modelplane_operator.alerts import (
    RetryPolicy,
    WebhookTarget,
    dedup_key,
    resolve_targets,
    send_alerts,
    verify_signature,
)
from modelplane_operator.alerts.delivery import UnusableTarget
from tests.operator.alerts.conftest import MONITOR, make_evaluation, make_quality
from tests.operator.conftest import Receiver
from tests.operator.support import REPO_ROOT, free_port

SECRET = b"whsec_" + b"0123456789abcdef" * 2
FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05, total=5.0, timeout=2.0)


def _send(
    receiver: Receiver,
    client: httpx.Client,
    *,
    drifted: bool = True,
    previously: bool = False,
    target: WebhookTarget | None = None,
    policy: RetryPolicy = FAST,
    sleep: Callable[[float], None] = time.sleep,
) -> list[AlertDelivery]:
    target = target or WebhookTarget(0, "critical", receiver.url, signing_secret=SECRET)
    return send_alerts(
        [target],
        MONITOR,
        make_evaluation(drifted=drifted),
        previously_firing=previously,
        now=datetime.now(UTC),
        client=client,
        policy=policy,
        sleep=sleep,
    )


def test_the_receiver_gets_a_signed_message_that_verifies(
    receiver: Receiver, client: httpx.Client
) -> None:
    [delivery] = _send(receiver, client)
    assert (delivery.outcome, delivery.reason, delivery.attempts) == ("Delivered", "Accepted", 1)
    [request] = receiver.requests
    assert request.path == "/hooks/drift?token=s3cr3t"
    timestamp = request.headers["X-Modelplane-Timestamp"]
    signature = request.headers["X-Modelplane-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, request.body, signature, now=time.time())
    body = json.loads(request.body)
    assert request.headers["Idempotency-Key"] == body["id"] == delivery.key
    assert request.headers["X-Modelplane-Event"] == body["type"] == "drift.firing"
    assert request.headers["Content-Type"] == "application/json"


def test_the_documented_receiver_accepts_the_message_and_refuses_a_tampered_one(
    receiver: Receiver, client: httpx.Client
) -> None:
    text = (REPO_ROOT / "docs" / "drift.md").read_text()
    code = re.search(r"```python\n(# receiver\.py.*?)```", text, re.DOTALL)
    assert code is not None
    namespace: dict[str, Any] = {"__name__": "receiver"}
    exec(compile(code.group(1), "docs/drift.md", "exec"), namespace)  # our own docs
    verify = namespace["verify"]
    _send(receiver, client)
    [request] = receiver.requests
    stamp = request.headers["X-Modelplane-Timestamp"]
    signature = request.headers["X-Modelplane-Signature"]
    assert verify(SECRET, stamp, request.body, signature, time.time())
    assert not verify(SECRET, stamp, request.body + b" ", signature, time.time())
    assert not verify(SECRET, stamp, request.body, signature, time.time() + 301)


def test_a_tampered_body_or_an_old_timestamp_fails_verification(
    receiver: Receiver, client: httpx.Client
) -> None:
    _send(receiver, client)
    [request] = receiver.requests
    timestamp = request.headers["X-Modelplane-Timestamp"]
    signature = request.headers["X-Modelplane-Signature"]
    tampered = request.body.replace(b'"severity":"critical"', b'"severity":"info"')
    assert tampered != request.body
    assert not verify_signature(SECRET, timestamp, tampered, signature, now=time.time())
    replayed_at = int(timestamp) + 301
    assert not verify_signature(SECRET, timestamp, request.body, signature, now=replayed_at)


def test_a_server_error_is_retried_until_delivered(
    receiver: Receiver, client: httpx.Client
) -> None:
    receiver.statuses = [503, 500]
    [delivery] = _send(receiver, client)
    assert (delivery.outcome, delivery.attempts) == ("Delivered", 3)
    assert len(receiver.requests) == 3
    # Every attempt carries the same event: the receiver deduplicates on it.
    assert {r.body for r in receiver.requests} == {receiver.requests[0].body}
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {delivery.key}
    for request in receiver.requests:
        stamp, signature = (
            request.headers["X-Modelplane-Timestamp"],
            request.headers["X-Modelplane-Signature"],
        )
        assert verify_signature(SECRET, stamp, request.body, signature, now=time.time())


def test_rate_limiting_is_retried(receiver: Receiver, client: httpx.Client) -> None:
    receiver.statuses = [429]
    [delivery] = _send(receiver, client)
    assert (delivery.outcome, delivery.attempts) == ("Delivered", 2)


def test_a_client_error_fails_without_a_retry(receiver: Receiver, client: httpx.Client) -> None:
    receiver.statuses = [400, 200]
    [delivery] = _send(receiver, client)
    assert (delivery.outcome, delivery.reason, delivery.attempts) == ("Failed", "ClientError", 1)
    assert delivery.message == "HTTP 400, not retried"
    assert len(receiver.requests) == 1


def test_a_redirect_is_not_followed(receiver: Receiver, client: httpx.Client) -> None:
    receiver.statuses = [302]
    [delivery] = _send(receiver, client)
    assert (delivery.outcome, delivery.reason, delivery.attempts) == ("Failed", "ClientError", 1)


def test_a_persistent_server_error_fails_after_the_last_attempt(
    receiver: Receiver, client: httpx.Client
) -> None:
    receiver.statuses = [500] * 10
    [delivery] = _send(receiver, client)
    assert (delivery.outcome, delivery.reason, delivery.attempts) == ("Failed", "ServerError", 4)
    assert delivery.message.startswith("HTTP 500 after 4 attempts")
    assert len(receiver.requests) == 4


def test_a_slow_receiver_times_out_on_every_attempt(
    receiver: Receiver, client: httpx.Client
) -> None:
    receiver.delay = 0.5
    impatient = RetryPolicy(attempts=2, base=0.01, cap=0.01, total=5.0, timeout=0.1)
    [delivery] = _send(receiver, client, policy=impatient)
    assert (delivery.outcome, delivery.reason, delivery.attempts) == ("Failed", "Timeout", 2)


def test_the_time_budget_bounds_the_retries(receiver: Receiver, client: httpx.Client) -> None:
    receiver.statuses = [500] * 10
    target = WebhookTarget(index=0, severity="warning", url=receiver.url)
    slow = RetryPolicy(attempts=10, base=1.0, cap=1.0, total=0.5)
    [delivery] = _send(receiver, client, target=target, policy=slow, sleep=lambda _: None)
    assert delivery.outcome == "Failed"
    assert delivery.attempts < 10


def test_an_unreachable_receiver_fails_as_a_connection_error(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook?token=s3cr3t"
    target = WebhookTarget(index=0, severity="warning", url=url, signing_secret=SECRET)
    [delivery] = _send(Receiver(url), client, target=target)
    assert (delivery.outcome, delivery.reason, delivery.attempts) == (
        "Failed",
        "ConnectionFailed",
        4,
    )
    assert "s3cr3t" not in delivery.message
    assert "127.0.0.1" not in delivery.message


def test_a_rerun_of_a_delivered_evaluation_sends_nothing_again(
    receiver: Receiver, client: httpx.Client
) -> None:
    receiver.statuses = [200]
    evaluation = make_evaluation()
    target = WebhookTarget(index=0, severity="warning", url=receiver.url, signing_secret=SECRET)
    unreachable = WebhookTarget(index=1, severity="warning", url=f"http://127.0.0.1:{free_port()}")
    send = partial(
        send_alerts, [target, unreachable], MONITOR, evaluation, client=client, policy=FAST
    )
    first = send(previously_firing=False, now=datetime.now(UTC))
    assert [d.outcome for d in first] == ["Delivered", "Failed"]
    again = send(previously_firing=False, now=datetime.now(UTC), previous=first)
    assert again[0] == first[0]
    assert again[1].attempts == 4  # the failed sink is tried again
    assert len(receiver.requests) == 1


def test_no_drift_now_or_before_sends_nothing(receiver: Receiver, client: httpx.Client) -> None:
    assert _send(receiver, client, drifted=False, previously=False) == []
    assert receiver.requests == []


def test_the_end_of_drift_is_sent_once(receiver: Receiver, client: httpx.Client) -> None:
    [delivery] = _send(receiver, client, drifted=False, previously=True)
    assert (delivery.state, delivery.outcome) == ("resolved", "Delivered")
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "drift.resolved"
    assert body["driftedFeatures"] == []


def test_sinks_are_resolved_from_the_callers_secret_values() -> None:
    secrets = {
        ("hooks", "url"): b"https://hooks.example.com/drift?token=abc\n",
        ("hooks", "key"): SECRET,
        ("hooks", "short"): b"too-short",
        ("hooks", "ftp"): b"ftp://example.com/",
    }

    def read(ref: SecretKeySelector) -> bytes | None:
        return secrets.get((ref.name, ref.key))

    def webhook(url_key: str, signing_key: str | None = None) -> AlertSink:
        spec: dict[str, object] = {"urlSecretRef": {"name": "hooks", "key": url_key}}
        if signing_key:
            spec["signingSecretRef"] = {"name": "hooks", "key": signing_key}
        return AlertSink.model_validate({"webhook": spec, "severity": "critical"})

    sinks = [
        AlertSink.model_validate({"alertmanager": {"url": "http://am.monitoring:9093"}}),
        webhook("url", "key"),
        webhook("missing"),
        webhook("url", "short"),
        webhook("ftp"),
        webhook("url"),
    ]
    targets = resolve_targets(sinks, read)
    assert targets[1] == WebhookTarget(
        1, "critical", "https://hooks.example.com/drift?token=abc", SECRET
    )
    assert [t.reason for t in targets if isinstance(t, UnusableTarget)] == [
        "SecretUnavailable",
        "WeakSigningSecret",
        "InvalidURL",
    ]
    assert targets[5] == WebhookTarget(5, "critical", "https://hooks.example.com/drift?token=abc")
    deliveries = send_alerts(
        targets[2:5],
        MONITOR,
        make_evaluation(),
        previously_firing=False,
        now=datetime.now(UTC),
        client=httpx.Client(),
    )
    assert [(d.sink, d.outcome, d.attempts) for d in deliveries] == [
        (2, "Failed", 0),
        (3, "Failed", 0),
        (4, "Failed", 0),
    ]
    assert all(d.key == dedup_key(MONITOR, make_evaluation()) for d in deliveries)


def test_a_quality_alert_is_signed_and_keyed_like_drifts_and_sent_once_per_window(
    receiver: Receiver, client: httpx.Client
) -> None:
    target = WebhookTarget(0, "critical", receiver.url, signing_secret=SECRET)
    quality = make_quality()
    send = partial(send_alerts, [target], MONITOR, quality, client=client, policy=FAST)
    first = send(previously_firing=False, now=datetime.now(UTC))
    [request] = receiver.requests
    stamp = request.headers["X-Modelplane-Timestamp"]
    signature = request.headers["X-Modelplane-Signature"]
    assert verify_signature(SECRET, stamp, request.body, signature, now=time.time())
    tampered = request.body.replace(b'"labelledRows":812', b'"labelledRows":813')
    assert tampered != request.body
    assert not verify_signature(SECRET, stamp, tampered, signature, now=time.time())
    body = json.loads(request.body)
    assert request.headers["X-Modelplane-Event"] == body["type"] == "quality.firing"
    assert request.headers["Idempotency-Key"] == body["id"] == dedup_key(MONITOR, quality)
    assert body["id"].startswith(f"quality:{MONITOR.uid}:")
    assert [(d.alert, d.key, d.outcome) for d in first] == [("quality", body["id"], "Delivered")]

    # A re-run of the window: delivered already, not sent again.
    assert send(previously_firing=False, now=datetime.now(UTC), previous=first) == first
    assert len(receiver.requests) == 1
    # A drift record with the same sink and state does not stand in for the quality alert.
    drift = [first[0].model_copy(update={"alert": "drift", "key": body["id"]})]
    send(previously_firing=False, now=datetime.now(UTC), previous=drift)
    assert len(receiver.requests) == 2


def test_a_resolve_that_failed_is_sent_again_by_the_next_calm_evaluation(
    receiver: Receiver, client: httpx.Client
) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    up = WebhookTarget(index=0, severity="warning", url=receiver.url, signing_secret=SECRET)
    down = WebhookTarget(index=1, severity="warning", url=f"http://127.0.0.1:{free_port()}")
    send = partial(send_alerts, monitor=MONITOR, client=client, policy=FAST)
    ended = send(
        [up, down],
        evaluation=make_evaluation(drifted=False, window_end=hour - timedelta(hours=1)),
        previously_firing=True,
        now=datetime.now(UTC),
    )
    assert [(d.state, d.outcome) for d in ended] == [
        ("resolved", "Delivered"),
        ("resolved", "Failed"),
    ]
    back = WebhookTarget(index=1, severity="warning", url=receiver.url)  # the receiver is back
    calm = make_evaluation(drifted=False, window_end=hour)
    again = send(
        [up, back], evaluation=calm, previously_firing=False, now=datetime.now(UTC), previous=ended
    )
    assert again[0] == ended[0]  # the sink that had it gets nothing
    assert (again[1].state, again[1].outcome, again[1].key) == (
        "resolved",
        "Delivered",
        dedup_key(MONITOR, calm),
    )
    assert [json.loads(r.body)["type"] for r in receiver.requests] == ["drift.resolved"] * 2
    later = make_evaluation(drifted=False, window_end=hour + timedelta(hours=1))
    assert (
        send(
            [up, back],
            evaluation=later,
            previously_firing=False,
            now=datetime.now(UTC),
            previous=again,
        )
        == []
    )
    assert len(receiver.requests) == 2
