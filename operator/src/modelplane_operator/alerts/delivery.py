"""Sending one evaluation's alert to every sink, with bounded retries, and saying what happened.

The caller (the drift job) reads the sinks' Secrets and passes their values to
`resolve_targets`, then calls `send_alerts` with an `httpx.Client`; every sink gets one typed
`AlertDelivery` (the record `status.alerts` holds). Sinks are sent to in parallel, each retried
on connection errors, timeouts, 5xx and 429 with exponential backoff and full jitter
(https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), within a number of
attempts and a time budget; any other status (4xx, and 3xx: redirects are not followed, so a
URL's token never travels to another host) fails at once, since repeating it cannot help.

The same path sends both alerts (drift and quality, `message.Alerted`): the evaluation passed
in decides which. A sink that already has a `Delivered` record for the same evaluation key and
state in `previous` (the monitor's `status.alerts`) is not sent to again: a job re-run after an
operator kill repeats only what failed. Messages and logs never contain a sink's URL (it may
carry a token).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import httpx

from modelplane_crds.base import SecretKeySelector
from modelplane_crds.drift_monitor import AlertDelivery, AlertSink
from modelplane_operator.alerts.message import (
    AlertState,
    Evaluation,
    MonitorRef,
    alert_state,
    alerted,
    alertmanager_alert,
    dedup_key,
    webhook_body,
)
from modelplane_operator.alerts.signing import MIN_SECRET_BYTES, signature_headers

log = logging.getLogger(__name__)

SinkType = Literal["webhook", "alertmanager"]
USER_AGENT = "modelplane-drift-alerts/1"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one sink is tried: attempts, backoff and the time budget, all in seconds."""

    attempts: int = 5
    base: float = 1.0
    """The first backoff's upper bound; each later one doubles, up to `cap`."""
    cap: float = 15.0
    total: float = 60.0
    """No retry starts after this long since the first attempt."""
    timeout: float = 10.0
    """One request's connect, read and write timeout."""

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): uniform in
        [0, min(cap, base·2^(attempt-1))], at least the server's `Retry-After` (up to `cap`)."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        delay = random.uniform(0, ceiling)  # noqa: S311 -- jitter, not a secret
        return max(delay, min(retry_after, self.cap)) if retry_after is not None else delay


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook sink with its Secret values."""

    index: int
    severity: str
    url: str
    signing_secret: bytes | None = None
    type: ClassVar[SinkType] = "webhook"


@dataclass(frozen=True)
class AlertmanagerTarget:
    """An Alertmanager sink."""

    index: int
    severity: str
    url: str
    type: ClassVar[SinkType] = "alertmanager"


@dataclass(frozen=True)
class UnusableTarget:
    """A sink that cannot be sent to (a Secret missing, a bad URL, a weak key)."""

    index: int
    type: SinkType
    reason: str
    message: str


Target = WebhookTarget | AlertmanagerTarget | UnusableTarget
SecretReader = Callable[[SecretKeySelector], bytes | None]
"""The caller's Secret lookup: the value under the selector's key, or None when the Secret or
the key is missing."""


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def resolve_targets(sinks: Sequence[AlertSink], read_secret: SecretReader) -> list[Target]:
    """The spec's sinks, in order, with the Secret values they name."""
    targets: list[Target] = []
    for index, sink in enumerate(sinks):
        if sink.alertmanager is not None:
            targets.append(AlertmanagerTarget(index, sink.severity, sink.alertmanager.url))
            continue
        assert sink.webhook is not None  # the CRD's CEL rule: exactly one of the two
        ref = sink.webhook.url_secret_ref
        raw = read_secret(ref)
        if raw is None:
            targets.append(
                UnusableTarget(
                    index,
                    "webhook",
                    "SecretUnavailable",
                    f"no key {ref.key!r} in Secret {ref.name!r}",
                )
            )
            continue
        url = raw.decode("utf-8", errors="replace").strip()
        if not _valid_url(url):
            message = f"Secret {ref.name!r} key {ref.key!r} is not an http(s) URL"
            targets.append(UnusableTarget(index, "webhook", "InvalidURL", message))
            continue
        secret: bytes | None = None
        if (signing := sink.webhook.signing_secret_ref) is not None:
            secret = read_secret(signing)
            if secret is None:
                message = f"no key {signing.key!r} in Secret {signing.name!r}"
                targets.append(UnusableTarget(index, "webhook", "SecretUnavailable", message))
                continue
            if len(secret) < MIN_SECRET_BYTES:
                message = (
                    f"the signing key is {len(secret)} bytes; at least {MIN_SECRET_BYTES} needed"
                )
                targets.append(UnusableTarget(index, "webhook", "WeakSigningSecret", message))
                continue
        targets.append(WebhookTarget(index, sink.severity, url, secret))
    return targets


@dataclass(frozen=True)
class _Result:
    delivered: bool
    reason: str
    message: str
    attempts: int


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isascii() and value.isdigit() else None


def _post(
    send: Callable[[], httpx.Response], policy: RetryPolicy, sleep: Callable[[float], None]
) -> _Result:
    """POST until accepted, refused, or out of attempts or time."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        retry_after = None
        try:
            response = send()
        except httpx.TimeoutException as exc:
            reason, message = "Timeout", type(exc).__name__
        except httpx.TransportError as exc:
            reason, message = "ConnectionFailed", type(exc).__name__
        else:
            code = response.status_code
            if 200 <= code < 300:
                return _Result(True, "Accepted", f"HTTP {code}", attempt)
            message = f"HTTP {code}"
            if code == 429:
                reason, retry_after = "RateLimited", _retry_after(response)
            elif code >= 500:
                reason, retry_after = "ServerError", _retry_after(response)
            else:
                return _Result(False, "ClientError", f"{message}, not retried", attempt)
        delay = policy.backoff(attempt, retry_after)
        spent = time.monotonic() - started
        if attempt >= policy.attempts or spent + delay > policy.total:
            tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
            return _Result(False, reason, f"{message} after {tries} in {spent:.1f}s", attempt)
        sleep(delay)


def _sender(
    target: WebhookTarget | AlertmanagerTarget,
    client: httpx.Client,
    monitor: MonitorRef,
    evaluation: Evaluation,
    state: AlertState,
    now: datetime,
    period: timedelta | None,
    timeout: float,
) -> Callable[[], httpx.Response]:
    if isinstance(target, AlertmanagerTarget):
        alert = alertmanager_alert(monitor, evaluation, state, target.severity, now, period)
        url = target.url.rstrip("/") + "/api/v2/alerts"
        headers = {"User-Agent": USER_AGENT}
        return lambda: client.post(url, json=[alert], headers=headers, timeout=timeout)
    body = webhook_body(monitor, evaluation, state, target.severity)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": dedup_key(monitor, evaluation),
        "X-Modelplane-Event": f"{alerted(evaluation).kind}.{state}",
    }
    secret = target.signing_secret

    def send() -> httpx.Response:
        # Signed per attempt: a retry after a long backoff still carries a fresh timestamp.
        signed = signature_headers(secret, int(time.time()), body) if secret is not None else {}
        return client.post(target.url, content=body, headers=headers | signed, timeout=timeout)

    return send


def send_alerts(
    targets: Sequence[Target],
    monitor: MonitorRef,
    evaluation: Evaluation,
    *,
    previously_firing: bool,
    now: datetime,
    client: httpx.Client,
    period: timedelta | None = None,
    previous: Sequence[AlertDelivery] = (),
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[AlertDelivery]:
    """Send the evaluation's alert (drift or quality) to every target; one `AlertDelivery` per
    target, in order.

    `previously_firing` is whether the monitor's previous evaluation of this kind fired (found
    dataset drift, or degraded quality; so the resolve is sent once, on the first evaluation
    without it); `now` is the time the evaluation finished; `period` the time between
    evaluations (the window's length when None); `previous` the records `status.alerts` holds
    (an earlier run of this evaluation: sinks that have it are skipped; a resolve that failed:
    sent again by the next calm evaluation). Returns an empty list when there is nothing to send
    (nothing wrong now or before and no resolve owed, or too little data to decide).
    """
    key, kind = dedup_key(monitor, evaluation), alerted(evaluation).kind
    state = alert_state(evaluation, previously_firing)
    kept: list[AlertDelivery] = []
    if state is None:
        owed = owed_resolves(previous, kind) if alerted(evaluation).firing() is False else set()
        if not owed:
            return []
        state = "resolved"  # the end of an alert a sink never got: sent again, to it alone
        kept = [d for d in previous if d.alert == kind and d.sink not in owed]
        targets = [t for t in targets if t.index in owed]
    policy = policy or RetryPolicy()
    done = {
        d.sink: d
        for d in previous
        if d.key == key and d.outcome == "Delivered" and d.state == state and d.alert == kind
    }

    def one(target: Target) -> AlertDelivery:
        earlier = done.get(target.index)
        if earlier is not None and earlier.type == target.type:
            return earlier
        return _deliver(target, client, monitor, evaluation, state, key, now, period, policy, sleep)

    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=len(targets), thread_name_prefix=f"{kind}-alert") as pool:
        return sorted([*kept, *pool.map(one, targets)], key=lambda d: d.sink)


def owed_resolves(previous: Sequence[AlertDelivery], kind: str) -> set[int]:
    """The sinks whose last record of this alert kind is a resolve that failed: a calm
    evaluation sends them the resolve again (Alertmanager would end the alert by itself at its
    `endsAt`; a webhook receiver would never hear of it)."""
    return {
        d.sink
        for d in previous
        if d.alert == kind and d.state == "resolved" and d.outcome == "Failed"
    }


def _deliver(
    target: Target,
    client: httpx.Client,
    monitor: MonitorRef,
    evaluation: Evaluation,
    state: AlertState,
    key: str,
    now: datetime,
    period: timedelta | None,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
) -> AlertDelivery:
    """One sink's attempt(s), logged, as the record `status.alerts` keeps."""
    alert = alerted(evaluation).kind
    if isinstance(target, UnusableTarget):
        result = _Result(False, target.reason, target.message, 0)
    else:
        send = _sender(target, client, monitor, evaluation, state, now, period, policy.timeout)
        result = _post(send, policy, sleep)
    log.log(
        logging.INFO if result.delivered else logging.WARNING,
        "%s alert %s for %s/%s to sink %d (%s): %s %s",
        alert,
        state,
        monitor.namespace,
        monitor.name,
        target.index,
        target.type,
        result.reason,
        result.message,
    )
    return AlertDelivery(
        sink=target.index,
        type=target.type,
        alert=alert,
        key=key,
        state=state,
        outcome="Delivered" if result.delivered else "Failed",
        reason=result.reason,
        message=result.message[:1024],
        attempts=result.attempts,
        time=datetime.now(tz=now.tzinfo),
    )


def recorded(status: Mapping[str, Any] | None) -> list[AlertDelivery]:
    """The deliveries a monitor's `status.alerts` holds (malformed entries skipped)."""
    found = []
    for raw in (status or {}).get("alerts") or []:
        try:
            found.append(AlertDelivery.model_validate(raw))
        except ValueError:
            continue
    return found


def latest(previous: Sequence[AlertDelivery], sent: Sequence[AlertDelivery]) -> list[AlertDelivery]:
    """`status.alerts` after a run: what was just sent and, for each alert kind that sent
    nothing this time, its earlier records; drift's first, each kind's in sink order."""
    replaced = {d.alert for d in sent}
    kept = [d for d in previous if d.alert not in replaced]
    return sorted([*kept, *sent], key=lambda d: d.alert)
