"""DriftMonitor alerts: what a monitor tells its sinks after an evaluation, and how it gets there.

Two alerts share every sink and this one path: dataset drift (`ModelplaneDatasetDrift`, webhook
events `drift.*`) and live quality outside its thresholds (`ModelplaneQualityDegraded`,
`quality.*`). The drift job calls `send_alerts` once per evaluation and kind with the monitor's
sinks (their Secret values already read by the caller: this package has no Kubernetes client),
and writes the returned `AlertDelivery` records, merged by `latest`, into `status.alerts`; the
operator counts those records into `modelplane_drift_alerts_total` and
`modelplane_quality_alerts_total` (`metrics.AlertMetrics`), because the job's pod lives too
briefly to be scraped.

- `message`: what is alerted (`DriftAlert`, `QualityAlert`), the alert's content and its
  deduplication key (one per evaluation, so a retried job never makes a second alert), as a
  webhook body and as an Alertmanager v2 alert.
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
    latest,
    recorded,
    resolve_targets,
    send_alerts,
)
from modelplane_operator.alerts.message import (
    Alerted,
    AlertKind,
    AlertState,
    DriftAlert,
    Evaluation,
    MonitorRef,
    QualityAlert,
    alert_state,
    alerted,
    dedup_key,
)
from modelplane_operator.alerts.signing import sign, verify_signature

__all__ = [
    "AlertKind",
    "AlertState",
    "Alerted",
    "AlertmanagerTarget",
    "DriftAlert",
    "Evaluation",
    "MonitorRef",
    "QualityAlert",
    "RetryPolicy",
    "Target",
    "UnusableTarget",
    "WebhookTarget",
    "alert_state",
    "alerted",
    "dedup_key",
    "latest",
    "recorded",
    "resolve_targets",
    "send_alerts",
    "sign",
    "verify_signature",
]
