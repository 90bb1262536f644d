"""DriftMonitor: a scheduled comparison of a deployment's live inputs with a reference.

The operator runs a CronJob on `schedule` that reads the payload logs of the last `window`,
tests every feature against the reference data, and writes the result (the shared
`DriftEvaluation` from `drift_results`) into the monitor's status, where the dashboard and
`kubectl get dm` read it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from modelplane_crds.base import (
    API_VERSION,
    SHA256,
    Duration,
    K8sModel,
    LocalObjectReference,
    ObjectMeta,
    Rule,
    SecretKeySelector,
)
from modelplane_crds.conditions import ObjectStatus
from modelplane_crds.drift_results import P_VALUE_TESTS, DriftEvaluation
from modelplane_crds.quality import QualityEvaluation, QualitySpec

# Condition types besides Ready.
DRIFT_DETECTED = "DriftDetected"
INSUFFICIENT_DATA = "InsufficientData"
QUALITY_DEGRADED = "QualityDegraded"
"""Present with `spec.quality` once a window was scored: True while a metric of the serving
version is outside its thresholds, Unknown while too few predictions had a label."""

# Reasons.
SCHEDULED = "Scheduled"
DEPLOYMENT_NOT_FOUND = "DeploymentNotFound"
REFERENCE_UNAVAILABLE = "ReferenceUnavailable"
EVALUATION_FAILED = "EvaluationFailed"
DATA_UNAVAILABLE = "DataUnavailable"
PAYLOAD_LOGGING_OFF = "PayloadLoggingOff"
SUSPENDED = "Suspended"
NO_DRIFT = "NoDrift"
FEATURE_DRIFT = "FeatureDrift"
DATASET_DRIFT = "DatasetDrift"
TOO_FEW_SAMPLES = "TooFewSamples"
ENOUGH_SAMPLES = "EnoughSamples"
BELOW_THRESHOLD = "BelowThreshold"
WITHIN_THRESHOLDS = "WithinThresholds"
TOO_FEW_LABELS = "TooFewLabels"

ALERT_SECRETS_DIR = "/var/run/modelplane/alert-secrets"
"""Where a monitor's CronJob mounts the Secrets its alert sinks name (`<dir>/<secret>/<key>`)
and the drift job reads them."""

TestChoice = Literal["auto", "psi", "ks", "chi2", "jsd", "wasserstein"]
CRON = r"^(@(yearly|annually|monthly|weekly|daily|hourly)|(\S+\s+){4}\S+)$"


class DriftReference(K8sModel):
    """The data that counts as "no drift"."""

    cel_rules = (
        Rule(
            cel="has(self.uri) != (has(self.fromStableVersion) && self.fromStableVersion)",
            message="set exactly one of fromStableVersion: true or uri",
            field_path=".uri",
            check=lambda r: (r.uri is not None) != bool(r.from_stable_version),
        ),
        Rule(
            cel="has(self.uri) == has(self.sha256)",
            message="uri and sha256 go together",
            field_path=".sha256",
            check=lambda r: (r.uri is None) == (r.sha256 is None),
        ),
    )

    from_stable_version: bool | None = None
    """Use the reference dataset of the deployment's current stable ModelVersion. Excludes
    `uri`."""

    uri: str | None = Field(default=None, max_length=2048, pattern=r"^(s3://|file://|https://)\S+$")
    """Explicit reference dataset: `s3://bucket/key`, `https://…` or `file://…`. Excludes
    `fromStableVersion`."""

    sha256: str | None = Field(default=None, pattern=SHA256)
    """SHA-256 digest of the explicit dataset; required with `uri`."""

    format: Literal["parquet", "csv"] = "parquet"
    """File format of the explicit dataset."""


class Window(K8sModel):
    """Which logged traffic one evaluation looks at."""

    type: Literal["tumbling", "sliding"] = "tumbling"
    """`tumbling`: consecutive, non-overlapping windows — each run evaluates the last complete
    window of `size` aligned to the Unix epoch in UTC (with `1h`, the whole hour before the run);
    `sliding`: the last `size` before each run, overlapping when runs are closer than `size`."""

    size: Duration = "1h"
    """Length of the window, for example `1h`."""


class FeatureOverride(K8sModel):
    """A different test or threshold for one feature."""

    cel_rules = (
        Rule(
            cel="!has(self.alpha) || !has(self.test) || self.test in ['auto', 'ks', 'chi2']",
            message="alpha applies only to the p-value tests ks and chi2",
            field_path=".alpha",
            check=lambda o: o.alpha is None or o.test is None or o.test in {"auto", *P_VALUE_TESTS},
        ),
        Rule(
            cel="!has(self.threshold) || !has(self.test) || !(self.test in ['ks', 'chi2'])",
            message="threshold applies only to the distance tests psi, jsd and wasserstein",
            field_path=".threshold",
            check=lambda o: o.threshold is None or o.test is None or o.test not in P_VALUE_TESTS,
        ),
    )

    name: str = Field(min_length=1, max_length=128)
    """Feature name, as declared in the ModelVersion's features."""

    test: TestChoice | None = None
    """Test for this feature; defaults to `features.defaultTest`."""

    threshold: float | None = Field(default=None, ge=0)
    """Distance at or above which this feature counts as drifted (psi, jsd, wasserstein)."""

    alpha: float | None = Field(default=None, gt=0, lt=1)
    """Significance level below which this feature counts as drifted (ks, chi2)."""


class DistanceThresholds(K8sModel):
    """Default distance thresholds, per test."""

    psi: float = Field(default=0.2, ge=0)
    """Population stability index at or above which a feature drifted."""

    jsd: float = Field(default=0.1, ge=0, le=1)
    """Jensen-Shannon distance (base 2) at or above which a feature drifted."""

    wasserstein: float = Field(default=0.1, ge=0)
    """Wasserstein distance, relative to the reference's standard deviation, at or above which a
    feature drifted."""


class FeatureTests(K8sModel):
    """Which test runs on which feature, and when it says "drifted"."""

    default_test: TestChoice = "auto"
    """Test for features without an override. `auto` picks by feature type and reference size:
    with a small reference (1,000 rows or fewer) KS for numerical and chi-squared for categorical
    features, which report p-values; with a larger one Wasserstein and Jensen-Shannon distances
    with thresholds, because at large sizes p-values flag even negligible shifts."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level for the p-value tests (ks, chi2), before correction."""

    thresholds: DistanceThresholds | None = None
    """Thresholds for the distance tests; the defaults apply when omitted."""

    overrides: list[FeatureOverride] = Field(
        default_factory=list,
        max_length=512,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    """Per-feature tests and thresholds."""


class DatasetDriftPolicy(K8sModel):
    """When the data as a whole counts as drifted."""

    drift_share: float = Field(default=0.5, ge=0, le=1)
    """Share of drifted features (0 to 1) at or above which the dataset drifted."""


class PredictionDriftPolicy(K8sModel):
    """Drift of the model's outputs, tested like the inputs."""

    enabled: bool = True
    """Whether the model's outputs are tested too."""

    test: TestChoice = "auto"
    """Test for the outputs."""


class WebhookSink(K8sModel):
    """An HTTP endpoint that receives a JSON message on drift."""

    url_secret_ref: SecretKeySelector
    """Secret key holding the URL (it often carries a token, so it is not written in the
    spec)."""

    signing_secret_ref: SecretKeySelector | None = None
    """Secret key holding the HMAC-SHA256 signing key (at least 32 bytes). Each message then
    carries `X-Modelplane-Timestamp` and `X-Modelplane-Signature: sha256=<hex>` over
    `<timestamp>.<body>`, so the receiver can check who sent it and reject replays; without
    it messages are unsigned and only the URL's token authenticates them."""


class AlertmanagerSink(K8sModel):
    """A Prometheus Alertmanager that receives an alert on drift."""

    url: str = Field(max_length=2048, pattern=r"^https?://[!-~]+$")
    """Base URL of the Alertmanager, for example `http://alertmanager.monitoring:9093`."""


class AlertSink(K8sModel):
    """Where to send alerts: exactly one of webhook or alertmanager."""

    cel_rules = (
        Rule(
            cel="has(self.webhook) != has(self.alertmanager)",
            message="set exactly one of webhook or alertmanager",
            check=lambda a: (a.webhook is None) != (a.alertmanager is None),
        ),
    )

    webhook: WebhookSink | None = None
    """Send to an HTTP webhook."""

    alertmanager: AlertmanagerSink | None = None
    """Send to Alertmanager."""

    severity: Literal["info", "warning", "critical"] = "warning"
    """Severity attached to the alert."""


class AlertDelivery(K8sModel):
    """What became of one alert sent to one sink for one evaluation."""

    sink: int = Field(ge=0, le=15)
    """Index of the sink in `spec.alerts`."""

    type: Literal["webhook", "alertmanager"]
    """Kind of sink."""

    alert: Literal["drift", "quality"] = "drift"
    """Which alert: `drift` (dataset drift of the evaluated window) or `quality` (live quality
    of the scored window outside its thresholds)."""

    key: str = Field(min_length=1, max_length=512)
    """Deduplication key of the evaluation (alert, monitor uid and window end): the webhook's
    `Idempotency-Key` header and the message's `id`. Re-sending an evaluation reuses it."""

    state: Literal["firing", "resolved"]
    """Whether the alert announced drift (or degraded quality) or its end."""

    outcome: Literal["Delivered", "Failed"]
    """`Delivered` once the sink accepted it (2xx); `Failed` after the last attempt."""

    reason: str = Field(max_length=64)
    """Why, as a CamelCase word: `Accepted`, `ClientError`, `ServerError`, `RateLimited`,
    `ConnectionFailed`, `Timeout`, `SecretUnavailable`, `WeakSigningSecret`, `InvalidURL`."""

    message: str = Field(default="", max_length=1024)
    """Details for people, such as the last HTTP status; never the URL (it may hold a token)."""

    attempts: int = Field(ge=0)
    """HTTP requests made (0 when nothing could be sent)."""

    time: datetime
    """When the outcome was decided."""


class DriftActions(K8sModel):
    """What the operator does on drift besides reporting it."""

    on_dataset_drift: Literal["none", "pauseRollouts"] = "none"
    """`pauseRollouts`: when an evaluation finds dataset drift while the monitored deployment
    has a canary in progress, the operator pauses it (traffic held where it is); resuming is a
    person's decision (Resume in the dashboard, or the annotation `modelplane.io/resume`)."""

    on_quality_degraded: Literal["none", "pauseRollouts"] = "none"
    """`pauseRollouts`: when the candidate's live quality (`spec.quality`, scored into
    `status.candidateEvaluation.quality`) is outside its thresholds while its canary is in
    progress, the operator pauses it the same way: a worse model stops gaining traffic."""


class DriftMonitorSpec(K8sModel):
    """The desired state of a DriftMonitor."""

    deployment_ref: LocalObjectReference
    """The ModelDeployment whose traffic is watched (same namespace). It must log payloads."""

    reference: DriftReference = Field(
        default_factory=lambda: DriftReference(from_stable_version=True)
    )
    """Baseline data: `fromStableVersion: true` (the default) for the reference dataset of the
    deployment's stable ModelVersion, or an explicit `uri` with its `sha256`."""

    window: Window = Field(default_factory=Window)
    """Which logged traffic each evaluation covers."""

    schedule: str = Field(default="*/15 * * * *", max_length=64, pattern=CRON)
    """When evaluations run, in cron syntax (UTC)."""

    min_samples: int = Field(default=500, ge=1, le=100_000_000)
    """Fewest logged requests in a window for an evaluation to decide; with fewer, the monitor
    reports InsufficientData instead."""

    features: FeatureTests = Field(default_factory=FeatureTests)
    """Tests and thresholds per feature."""

    correction: Literal["none", "bonferroni", "bh-fdr"] = "bh-fdr"
    """Multiple-testing correction of the p-values across features: `none`, `bonferroni`, or
    `bh-fdr` (Benjamini-Hochberg false discovery rate)."""

    dataset_drift: DatasetDriftPolicy = Field(default_factory=DatasetDriftPolicy)
    """When the data as a whole counts as drifted."""

    prediction_drift: PredictionDriftPolicy | None = None
    """Also test the model's outputs; off when omitted."""

    alerts: list[AlertSink] = Field(default_factory=list, max_length=16)
    """Where to send alerts — dataset drift of an evaluated window and, with `quality`, live
    quality outside its thresholds; each firing, then resolved once it ends. Each entry names
    exactly one of `webhook` or `alertmanager`."""

    actions: DriftActions | None = None
    """What to do on drift besides reporting."""

    quality: QualitySpec | None = None
    """Also score the predictions against ground truth sent to the deployment's feedback
    endpoint (classification or regression metrics with thresholds); off when omitted."""

    suspend: bool = False
    """Stop scheduling evaluations; the last results stay in status."""


def alert_secret_names(spec: DriftMonitorSpec) -> list[str]:
    """The Secrets a monitor's sinks name, once each, in order."""
    names: list[str] = []
    for sink in spec.alerts:
        if sink.webhook is None:
            continue
        for ref in (sink.webhook.url_secret_ref, sink.webhook.signing_secret_ref):
            if ref is not None and ref.name not in names:
                names.append(ref.name)
    return names


RECENT_EVALUATIONS = 10
"""Evaluations per role summarised in a monitor's status (the full results of the stable's are in
S3)."""

EvaluationRole = Literal["stable", "candidate"]


class EvaluationSummary(K8sModel):
    """One past evaluation in a line."""

    window_end: datetime
    """End of the evaluated window (UTC)."""

    model_version: str = Field(max_length=253)
    """The ModelVersion whose logged traffic was evaluated."""

    role: EvaluationRole = "stable"
    """`stable` (the evaluation behind the conditions and alerts) or `candidate` (the version
    being rolled out, over the same window, reported only)."""

    samples: int = Field(ge=0)
    """Logged rows in the window."""

    share: float | None = Field(default=None, ge=0, le=1)
    """Share of drifted features; absent when the window had too few rows."""

    drifted: bool
    """Whether the dataset drifted."""

    insufficient_data: bool = False
    """Whether the window had too few rows to decide."""


class EvaluationFailure(K8sModel):
    """Why the last run of the drift job could not evaluate."""

    time: datetime
    """When the run failed."""

    reason: str = Field(max_length=64)
    """`EvaluationFailed` (bad input: reference, features, configuration) or
    `DataUnavailable` (payload logs or reference could not be read)."""

    message: str = Field(max_length=1024)
    """The job's one-line explanation."""


class CandidateEvaluation(K8sModel):
    """The candidate's logged traffic during a rollout, over the stable's window and against the
    same reference."""

    model_version: str = Field(max_length=253)
    """The ModelVersion being rolled out (the deployment's `status.candidateVersion`)."""

    evaluation: DriftEvaluation | None = None
    """Its results; absent when its logs could not be read (see `message`)."""

    message: str | None = Field(default=None, max_length=1024)
    """Why the candidate could not be evaluated; the stable's evaluation stands regardless."""

    quality: QualityEvaluation | None = None
    """With `spec.quality`: the candidate's predictions scored against ground truth over the
    same window as the stable's `lastQuality`, so a worse candidate shows beside it."""


class DriftMonitorStatus(ObjectStatus):
    """The observed state of a DriftMonitor."""

    last_evaluation: DriftEvaluation | None = None
    """Results of the most recent evaluation: window, samples, per-feature results and the
    dataset drift share."""

    last_schedule_time: datetime | None = None
    """When the last evaluation was started."""

    evaluated_version: str | None = Field(default=None, max_length=253)
    """The ModelVersion (the deployment's serving stable version) whose logged traffic the last
    evaluation read."""

    candidate_evaluation: CandidateEvaluation | None = None
    """During a rollout, the candidate's traffic evaluated over the same window; reported only
    (conditions and alerts follow `lastEvaluation`), absent when there is no candidate."""

    recent_evaluations: list[EvaluationSummary] = Field(
        default_factory=list, max_length=2 * RECENT_EVALUATIONS
    )
    """The last evaluations, newest first, one line each; at most 10 per role."""

    last_quality: QualityEvaluation | None = None
    """Quality of the most recent scored window, from ground truth (`spec.quality`)."""

    last_failure: EvaluationFailure | None = None
    """The last run that could not evaluate; cleared by the next evaluation."""

    alerts: list[AlertDelivery] = Field(default_factory=list, max_length=32)
    """What became of the last alerts of each kind (`drift`, `quality`): for each, the most
    recent evaluation that sent one, one entry per sink."""


class DriftMonitor(K8sModel):
    """DriftMonitor compares a deployment's logged inputs with reference data on a schedule and
    reports drift per feature."""

    api_version: Literal["modelplane.io/v1alpha1"] = API_VERSION
    kind: Literal["DriftMonitor"] = "DriftMonitor"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DriftMonitorSpec
    """What to watch, against what, and how often."""

    status: DriftMonitorStatus | None = None
    """The latest results, written by the operator."""
