"""Drift alerts: what a DriftMonitor tells its sinks after an evaluation, and how it gets there.

The drift job calls `send_alerts` once per evaluation with the monitor's sinks (their Secret
values already read by the caller: this package has no Kubernetes client), and writes the
returned `AlertDelivery` list into `status.alerts`; the operator counts those records into
`modelplane_drift_alerts_total` (`metrics.DriftAlertMetrics`), because the job's pod lives too
briefly to be scraped.

- `message`: the alert's content and its deduplication key (one per evaluation, so a retried
  job never makes a second alert), as a webhook body and as an Alertmanager v2 alert.
- `signing`: the webhook's HMAC-SHA256 signature and the receivers' `verify_signature`.
- `delivery`: the HTTP sender with bounded retries (backoff with full jitter) and the typed
  outcome per sink.
"""

from modelplane_operator.alerts.delivery import (
    AlertmanagerTarget,
    RetryPolicy,
    Target,
    UnusableTarget,
    WebhookTarget,
    recorded,
    resolve_targets,
    send_alerts,
)
from modelplane_operator.alerts.message import AlertState, MonitorRef, alert_state, dedup_key
from modelplane_operator.alerts.signing import sign, verify_signature

__all__ = [
    "AlertState",
    "AlertmanagerTarget",
    "MonitorRef",
    "RetryPolicy",
    "Target",
    "UnusableTarget",
    "WebhookTarget",
    "alert_state",
    "dedup_key",
    "recorded",
    "resolve_targets",
    "send_alerts",
    "sign",
    "verify_signature",
]
