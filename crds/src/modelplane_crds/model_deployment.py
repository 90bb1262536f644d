"""ModelDeployment: a stable inference endpoint with versioned units behind it.

`stable` always serves; setting `candidate` starts a rollout that follows `strategy` (canary
weight steps, pauses and analysis steps, optional shadow traffic), checked by `analysis`, and
ends in promotion or in `onFailure`. A GitOps repository can keep `analysis` and `strategy`
permanently in the spec: without a candidate they simply wait for the next rollout. Only an
`analysis` step without an `analysis` section is an error, because nothing would say what to
check. Mutually exclusive settings are rejected rather than silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from modelplane_crds.base import (
    API_VERSION,
    Duration,
    K8sModel,
    LocalObjectReference,
    ObjectMeta,
    Quantity,
    Rule,
)
from modelplane_crds.conditions import ObjectStatus, Phase
from modelplane_crds.drift_results import DriftTestName

# Condition types besides Ready / Reconciling / Stalled.
CANDIDATE_HEALTHY = "CandidateHealthy"

# Reasons.
ROLLOUT_COMPLETE = "RolloutComplete"
CANARY_PROGRESSING = "CanaryProgressing"
CANARY_PAUSED = "CanaryPaused"
AWAITING_PROMOTION = "AwaitingPromotion"
ANALYSIS_PASSED = "AnalysisPassed"
ANALYSIS_FAILED = "AnalysisFailed"
ROLLED_BACK = "RolledBack"
MODEL_VERSION_NOT_FOUND = "ModelVersionNotFound"
MODEL_VERSION_NOT_READY = "ModelVersionNotReady"
PODS_NOT_READY = "PodsNotReady"

Environment = Literal["staging", "production"]
CheckName = Literal[
    "errorRate",
    "latencyP99",
    "schemaViolationRate",
    "predictionDrift",
    "prometheus",
    "shadowAgreement",
]


class VersionTarget(K8sModel):
    """Which ModelVersion a variant serves."""

    model_version_ref: LocalObjectReference
    """The ModelVersion, by name, in the deployment's namespace."""


class PauseStep(K8sModel):
    """Hold the current weight."""

    duration: Duration | None = None
    """How long to hold, for example `10m`. Omit to hold until the rollout is resumed by hand
    (the dashboard's Resume, or the annotation `modelplane.io/resume`)."""


class AnalysisStep(K8sModel):
    """Hold the current weight until the analysis checks pass."""

    intervals: int = Field(default=1, ge=1, le=100)
    """Number of consecutive passing analysis intervals required before the rollout moves on."""


class CanaryStep(K8sModel):
    """One step of a canary rollout: exactly one of setWeight, pause or analysis."""

    cel_rules = (
        Rule(
            cel="(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0)"
            " + (has(self.analysis) ? 1 : 0) == 1",
            message="a step sets exactly one of setWeight, pause or analysis",
            check=lambda s: (
                [s.set_weight is not None, s.pause is not None, s.analysis is not None].count(True)
                == 1
            ),
        ),
    )

    set_weight: int | None = Field(default=None, ge=0, le=100)
    """Percent of traffic (0–100) to send to the candidate from this step on."""

    pause: PauseStep | None = None
    """Hold the current weight for a while, or until resumed."""

    analysis: AnalysisStep | None = None
    """Hold the current weight until `spec.analysis` passes (it must be set)."""


class CanaryStrategy(K8sModel):
    """Shift traffic to the candidate in steps."""

    cel_rules = (
        Rule(
            cel="self.steps.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted()",
            message="setWeight must not decrease from one step to the next",
            field_path=".steps",
            check=lambda c: (
                (w := [s.set_weight for s in c.steps if s.set_weight is not None]) == sorted(w)
            ),
        ),
    )

    steps: list[CanaryStep] = Field(min_length=1, max_length=32)
    """The steps, in order; each sets exactly one of `setWeight`, `pause` or `analysis`. Weights
    never decrease. The candidate is promoted after the last step (or waits for a manual
    promotion when `promotion: manual`)."""


class ShadowStrategy(K8sModel):
    """Mirror a share of the requests to the candidate and compare its answers with the stable
    version's. The stable pods send the copies after answering (the client never waits for the
    candidate) and count agreements; the candidate's answers are discarded. Changing this block
    restarts the serving pods (it is part of their settings)."""

    percent: int = Field(ge=1, le=100)
    """Percent of the requests the stable version answers (1–100) that are copied to the
    candidate while it is rolled out."""

    tolerance: float = Field(default=0.0, ge=0, le=1)
    """How far floating-point outputs may differ and still agree, relative to the stable value
    (absolute below 1): `|candidate - stable| <= tolerance * max(1, |stable|)`. Integer,
    boolean and string outputs must be equal."""


class Strategy(K8sModel):
    """How a candidate is rolled out. Without `canary`, the candidate takes all traffic as soon
    as its pods are Ready and its analysis (if any) passes once."""

    canary: CanaryStrategy | None = None
    """Shift traffic to the candidate in weighted steps."""

    shadow: ShadowStrategy | None = None
    """Mirror requests to the candidate during the rollout, alongside any canary steps."""


class Threshold(K8sModel):
    """An upper bound on a rate between 0 and 1."""

    max: float = Field(ge=0, le=1)
    """Largest acceptable value, as a fraction (0.01 means 1%)."""


class MinimumRate(K8sModel):
    """A lower bound on a rate between 0 and 1."""

    min: float = Field(ge=0, le=1)
    """Smallest acceptable value, as a fraction (0.99 means 99%)."""


class LatencyCheck(K8sModel):
    """An upper bound on the candidate's 99th-percentile latency."""

    max_ms: float = Field(gt=0, le=600000)
    """Largest acceptable p99 latency of the candidate, in milliseconds."""


class PredictionDriftCheck(K8sModel):
    """An upper bound on how far the candidate's predictions move from the stable version's."""

    test: DriftTestName = "jsd"
    """Test comparing candidate and stable predictions: psi, ks, chi2, jsd or wasserstein."""

    max: float = Field(ge=0)
    """Largest acceptable statistic of the test (for ks and chi2: the statistic, not the
    p-value)."""


class PrometheusCheck(K8sModel):
    """A custom check: a PromQL query whose scalar result must meet a condition."""

    query: str = Field(min_length=1, max_length=4096)
    """PromQL query returning one number. `{{candidate}}` and `{{namespace}}` are replaced by the
    candidate's workload name and the namespace."""

    success_condition: str = Field(
        max_length=64, pattern=r"^result\s*(<|<=|>|>=|==|!=)\s*-?[0-9]+(\.[0-9]+)?$"
    )
    """Condition the result must meet, such as `result < 0.05`."""

    address: str | None = Field(default=None, max_length=2048, pattern=r"^https?://[!-~]+$")
    """Prometheus base URL; defaults to the operator's configured Prometheus."""


class AnalysisChecks(K8sModel):
    """The checks run at every analysis interval; all must pass."""

    cel_rules = (
        Rule(
            cel="has(self.errorRate) || has(self.latencyP99) || has(self.schemaViolationRate)"
            " || has(self.predictionDrift) || has(self.prometheus) || has(self.shadowAgreement)",
            message="set at least one check",
            check=lambda c: any(
                v is not None
                for v in (
                    c.error_rate,
                    c.latency_p99,
                    c.schema_violation_rate,
                    c.prediction_drift,
                    c.prometheus,
                    c.shadow_agreement,
                )
            ),
        ),
    )

    error_rate: Threshold | None = None
    """Largest acceptable share of failed requests to the candidate (HTTP 5xx and errors)."""

    latency_p99: LatencyCheck | None = None
    """Largest acceptable p99 latency of the candidate."""

    schema_violation_rate: Threshold | None = None
    """Largest acceptable share of requests to the candidate rejected for not matching the
    signature."""

    prediction_drift: PredictionDriftCheck | None = None
    """Largest acceptable drift of the candidate's predictions against the stable version's on
    the same traffic."""

    prometheus: PrometheusCheck | None = None
    """A custom PromQL check."""

    shadow_agreement: MinimumRate | None = None
    """Smallest acceptable share of shadow copies the candidate answered as the stable version
    did (needs `strategy.shadow`); a copy it refused or failed counts as a disagreement."""


class Analysis(K8sModel):
    """How the candidate is judged during a rollout."""

    interval: Duration = "1m"
    """How often the checks run, for example `1m`."""

    min_samples: int = Field(default=100, ge=1, le=10_000_000)
    """Requests the candidate must have served in an interval before the checks count; an
    interval with fewer is inconclusive, neither passed nor failed."""

    failure_limit: int = Field(default=1, ge=1, le=100)
    """Number of failed intervals after which the rollout fails and `onFailure` applies."""

    checks: AnalysisChecks
    """The checks; all must pass."""


class Batching(K8sModel):
    """Adaptive batching of concurrent requests in the serving runtime."""

    max_batch_size: int = Field(default=1, ge=1, le=1024)
    """Largest number of requests combined into one model call; 1 turns batching off."""

    max_latency_ms: float = Field(default=5.0, ge=0, le=1000)
    """Longest a request waits for others to fill a batch, in milliseconds."""


class RuntimeSettings(K8sModel):
    """Settings of the serving runtime in every pod."""

    image: str | None = Field(default=None, max_length=1024)
    """Serving image to use instead of the operator's default; must be on the platform's image
    allow-list."""

    intra_op_threads: int | None = Field(default=None, ge=1, le=256)
    """Threads onnxruntime uses inside one operator; defaults to the pod's CPU limit."""

    batching: Batching | None = None
    """Adaptive batching; off when omitted."""


class Scaling(K8sModel):
    """How many pods serve each variant: a fixed `replicas`, or `minReplicas`/`maxReplicas` with
    a CPU target for a HorizontalPodAutoscaler. One pod when omitted."""

    cel_rules = (
        Rule(
            cel="!has(self.replicas) || !(has(self.minReplicas) || has(self.maxReplicas)"
            " || has(self.targetCPUUtilizationPercent))",
            message="replicas and autoscaling (minReplicas, maxReplicas,"
            " targetCPUUtilizationPercent) are mutually exclusive",
            field_path=".replicas",
            check=lambda s: (
                s.replicas is None
                or (
                    s.min_replicas is None
                    and s.max_replicas is None
                    and s.target_cpu_utilization_percent is None
                )
            ),
        ),
        Rule(
            cel="(has(self.minReplicas) || has(self.targetCPUUtilizationPercent))"
            " ? has(self.maxReplicas) : true",
            message="autoscaling needs maxReplicas",
            field_path=".maxReplicas",
            check=lambda s: (
                s.max_replicas is not None
                or (s.min_replicas is None and s.target_cpu_utilization_percent is None)
            ),
        ),
        Rule(
            cel="!has(self.minReplicas) || !has(self.maxReplicas)"
            " || self.minReplicas <= self.maxReplicas",
            message="minReplicas must not exceed maxReplicas",
            field_path=".minReplicas",
            check=lambda s: (
                s.min_replicas is None or s.max_replicas is None or s.min_replicas <= s.max_replicas
            ),
        ),
    )

    replicas: int | None = Field(default=None, ge=0, le=1000)
    """Fixed number of pods per variant. Excludes the autoscaling fields."""

    min_replicas: int | None = Field(default=None, ge=1, le=1000)
    """Fewest pods the autoscaler keeps per variant (default 1)."""

    max_replicas: int | None = Field(default=None, ge=1, le=1000)
    """Most pods the autoscaler may run per variant; turns autoscaling on."""

    target_cpu_utilization_percent: int | None = Field(
        default=None, ge=1, le=100, alias="targetCPUUtilizationPercent"
    )
    """Average CPU use, in percent of the request, the autoscaler aims for (default 70)."""


class ResourceList(K8sModel):
    """Amounts of compute resources."""

    cpu: Quantity | None = None
    """CPU, for example `500m` or `2`."""

    memory: Quantity | None = None
    """Memory, for example `512Mi`."""


class Resources(K8sModel):
    """Compute resources of each serving pod."""

    requests: ResourceList | None = None
    """Resources reserved for the pod; the scheduler places it where they fit."""

    limits: ResourceList | None = None
    """Most the pod may use."""


class PayloadLogging(K8sModel):
    """Sampled logging of requests and predictions to object storage, read by drift monitors."""

    sample_rate: float = Field(default=1.0, ge=0, le=1)
    """Fraction of requests logged (0 to 1)."""

    uri: str | None = Field(default=None, max_length=2048, pattern=r"^s3://\S+$")
    """Bucket the logs are written to, `s3://bucket`, under
    `<namespace>/<deployment>/<model version>/` (a path after the bucket is not used); defaults
    to the operator's payload bucket."""


class ModelDeploymentSpec(K8sModel):
    """The desired state of a ModelDeployment."""

    cel_rules = (
        Rule(
            cel="!has(self.candidate) || "
            "self.candidate.modelVersionRef.name != self.stable.modelVersionRef.name",
            message="candidate must name a different ModelVersion than stable",
            field_path=".candidate.modelVersionRef.name",
            check=lambda s: (
                s.candidate is None
                or s.candidate.model_version_ref.name != s.stable.model_version_ref.name
            ),
        ),
        Rule(
            cel="!has(self.strategy) || !has(self.strategy.canary) || has(self.analysis) || "
            "!self.strategy.canary.steps.exists(s, has(s.analysis))",
            message="an analysis step needs spec.analysis to say what to check",
            field_path=".analysis",
            check=lambda s: (
                s.analysis is not None
                or s.strategy is None
                or s.strategy.canary is None
                or all(step.analysis is None for step in s.strategy.canary.steps)
            ),
        ),
        Rule(
            cel="!has(self.analysis) || !has(self.analysis.checks.shadowAgreement) || "
            "(has(self.strategy) && has(self.strategy.shadow))",
            message="a shadowAgreement check needs strategy.shadow to send the copies",
            field_path=".analysis.checks.shadowAgreement",
            check=lambda s: (
                s.analysis is None
                or s.analysis.checks.shadow_agreement is None
                or (s.strategy is not None and s.strategy.shadow is not None)
            ),
        ),
    )

    environment: Environment = "staging"
    """`staging` or `production`. Changing a production deployment needs the organization's
    admin role."""

    stable: VersionTarget
    """The version that serves traffic now."""

    candidate: VersionTarget | None = None
    """The version being rolled out; setting it starts a rollout. After promotion the candidate
    serves all traffic (see `status.stableVersion`). The operator never edits the spec: move the
    name to `stable` and remove `candidate` in Git, or let the dashboard do it."""

    strategy: Strategy | None = None
    """How a candidate is rolled out: weighted canary steps and/or shadow traffic. Without
    `canary`, the candidate takes all traffic as soon as its pods are Ready and its analysis (if
    any) passes once."""

    analysis: Analysis | None = None
    """How the candidate is judged. May stay set between rollouts."""

    on_failure: Literal["rollback", "pause"] = "rollback"
    """What happens when analysis fails: `rollback` sends all traffic back to stable and records
    why; `pause` holds the current weights for a person to decide."""

    promotion: Literal["auto", "manual"] = "auto"
    """`auto` promotes the candidate after the last step; `manual` waits for a promotion from the
    dashboard or the annotation `modelplane.io/promote`."""

    paused: bool = False
    """Hold a rollout where it is: no step completes, no analysis runs and the traffic split
    stays, until set back to false (time spent paused counts toward a timed pause step). Has no
    effect without a candidate."""

    runtime: RuntimeSettings | None = None
    """Serving runtime settings."""

    scaling: Scaling | None = None
    """Pods per variant: a fixed `replicas`, or `maxReplicas` (with optional `minReplicas` and
    `targetCPUUtilizationPercent`) for a HorizontalPodAutoscaler; not both. One pod when
    omitted."""

    resources: Resources | None = None
    """CPU and memory of each serving pod."""

    payload_logging: PayloadLogging | None = None
    """Sampled request and prediction logging for drift monitoring; off when omitted."""


class Traffic(K8sModel):
    """Where requests currently go, in percent."""

    stable: int = Field(ge=0, le=100)
    """Percent of requests served by the stable version."""

    candidate: int = Field(default=0, ge=0, le=100)
    """Percent of requests served by the candidate."""

    mirror: int = Field(default=0, ge=0, le=100)
    """Percent of requests copied to the candidate as shadow traffic."""


class Measurement(K8sModel):
    """One check's result in one analysis interval."""

    at: datetime
    """End of the interval."""

    check: CheckName
    """Which check was measured."""

    value: float
    """The measured value."""

    threshold: float
    """The limit it was compared with."""

    passed: bool | None = None
    """Whether the check passed; absent when the interval had too few samples to decide."""

    samples: int = Field(default=0, ge=0)
    """Requests the measurement is based on."""


class AnalysisStatus(K8sModel):
    """Progress of the analysis of the current candidate."""

    measurements: list[Measurement] = Field(default_factory=list, max_length=100)
    """The most recent measurements, newest last (at most 100)."""

    failed_intervals: int = Field(default=0, ge=0)
    """Failed intervals so far in this rollout."""

    passed_intervals: int = Field(default=0, ge=0)
    """Consecutive passing intervals at the current step."""

    last_run_at: datetime | None = None
    """When the checks last ran (or the rollout started); the next run is one interval later."""


class ShadowStatus(K8sModel):
    """The candidate's answers to shadow copies, compared with the stable version's, over the
    rollout (summed over the stable pods that sent them)."""

    version: str = Field(max_length=253)
    """The candidate ModelVersion compared."""

    comparisons: int = Field(default=0, ge=0)
    """Copies compared. One the candidate refused or failed counts, as a disagreement."""

    agreed: int = Field(default=0, ge=0)
    """Copies answered as the stable version did (within `strategy.shadow.tolerance`)."""

    errors: int = Field(default=0, ge=0)
    """Of the comparisons, copies the candidate refused or failed."""

    agreement_rate: float | None = Field(default=None, ge=0, le=1)
    """`agreed / comparisons`; absent before the first comparison."""

    at: datetime | None = None
    """When the stable pods were last read."""


class RollbackRecord(K8sModel):
    """Why the last rollout was rolled back."""

    reason: str = Field(min_length=1, max_length=1024)
    """CamelCase reason, for example AnalysisFailed or PodsNotReady."""

    message: str = Field(default="", max_length=32768)
    """What failed, in words."""

    at: datetime
    """When traffic was sent back to stable."""

    rejected_version: str = Field(max_length=253)
    """The ModelVersion that was rejected."""


RolloutState = Literal["Idle", "Progressing", "Paused", "RolledBack"]
TrafficMode = Literal["HTTPRoute", "ReplicaRatio"]


class ModelDeploymentStatus(ObjectStatus):
    """The observed state of a ModelDeployment."""

    phase: Phase | None = None
    """One-word summary derived from the conditions: Pending, Progressing, Ready, Failed or
    Stalled."""

    stable_version: str | None = Field(default=None, max_length=253)
    """The ModelVersion serving as stable."""

    candidate_version: str | None = Field(default=None, max_length=253)
    """The ModelVersion being rolled out, if any."""

    traffic: Traffic | None = None
    """Current traffic split."""

    current_step: int | None = Field(default=None, ge=0)
    """Index of the canary step in progress (0-based)."""

    step_started_at: datetime | None = None
    """When the current step began; timed pauses count from here."""

    rollout_state: RolloutState | None = None
    """`Idle` (no rollout), `Progressing`, `Paused` (analysis failed with `onFailure: pause`) or
    `RolledBack` (stays so until the spec names another candidate)."""

    traffic_mode: TrafficMode | None = None
    """How the weights are realised: `HTTPRoute` weights (Gateway API installed) or the ratio of
    ready pods behind the umbrella Service (`ReplicaRatio`)."""

    analysis: AnalysisStatus | None = None
    """Analysis of the current candidate."""

    rollback: RollbackRecord | None = None
    """The last rollback, if any."""

    shadow: ShadowStatus | None = None
    """Agreement of the current (or last) candidate with the stable version on shadow copies;
    kept after the rollout ends, until the next candidate."""

    url: str | None = Field(default=None, max_length=2048)
    """In-cluster URL of the deployment's endpoint (Open Inference Protocol v2)."""


class ModelDeployment(K8sModel):
    """ModelDeployment is a stable inference endpoint serving a ModelVersion, with canary
    rollouts of a candidate version."""

    api_version: Literal["modelplane.io/v1alpha1"] = API_VERSION
    kind: Literal["ModelDeployment"] = "ModelDeployment"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ModelDeploymentSpec
    """The versions to serve and how to roll out a candidate."""

    status: ModelDeploymentStatus | None = None
    """The observed rollout state, written by the operator."""
