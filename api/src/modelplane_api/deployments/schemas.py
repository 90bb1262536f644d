"""Request and response bodies of deployments. The settings blocks are the ModelDeployment's own
types (`modelplane_crds.model_deployment`: `Scaling`, `RuntimeSettings`, `PayloadLogging`),
camelCase inside as in YAML, so the API and `kubectl apply` take the same shapes.

A deployment's `phase` is derived from the ModelDeployment's conditions, never stored:
`Pending` (the operator has not reported yet), `Progressing`, `Ready`, `Failed` or `Stalled`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import Field

from modelplane_api.registry.schemas import Condition
from modelplane_api.schemas import InputSchema, OutputSchema
from modelplane_crds.conditions import Phase
from modelplane_crds.model_deployment import (
    Analysis,
    Environment,
    PayloadLogging,
    RolloutState,
    RuntimeSettings,
    Scaling,
    Strategy,
)

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DeploymentName = Annotated[str, Path(min_length=1, max_length=63, pattern=NAME_PATTERN)]
"""A deployment's name in a route's path."""


class DeploymentSettings(InputSchema):
    """The blocks of a ModelDeployment's spec the facade sets besides its versions."""

    scaling: Scaling | None = None
    """`{"replicas": 2}`, or `{"minReplicas": 1, "maxReplicas": 4,
    "targetCPUUtilizationPercent": 70}` for autoscaling; one pod when omitted."""
    runtime: RuntimeSettings | None = None
    """`intraOpThreads`, `batching` (`maxBatchSize`, `maxLatencyMs`), `image` (allow-listed)."""
    payload_logging: PayloadLogging | None = None
    """`{"sampleRate": 0.1}`: the share of requests logged for drift monitors; off when omitted."""


class DeploymentCreate(DeploymentSettings):
    """A deployment serving one Ready version of the organization's registry."""

    version_id: uuid.UUID
    """The registry version to serve as `stable` (it must be Ready in the cluster)."""
    name: str | None = Field(default=None, min_length=1, max_length=63, pattern=NAME_PATTERN)
    """The ModelDeployment's name; default `<model>-<environment>`, e.g. `fraud-staging`."""
    environment: Environment = "staging"
    """`staging` or `production` (production needs the admin role)."""


class DeploymentUpdate(DeploymentSettings):
    """Blocks to change; absent or null ones stay as they are, a given block replaces the whole
    block. The served versions change through rollouts, not here."""

    environment: Environment | None = None


class DeploymentPublic(OutputSchema):
    name: str
    namespace: str
    model: str | None
    """The model served (the `modelplane.io/model` label, else the stable version's model)."""
    environment: str
    phase: Phase
    """Derived from the conditions: Pending, Progressing, Ready, Failed or Stalled."""
    reason: str | None
    """The reason of the condition that decided the phase (`RolloutComplete`, …)."""
    message: str | None
    stable_version: str
    """The ModelVersion `spec.stable` names (`kubectl get mv <name>`)."""
    candidate_version: str | None
    """The ModelVersion `spec.candidate` names, while a rollout is asked for."""
    serving_version: str | None
    """The ModelVersion the operator reports as stable (`status.stableVersion`)."""
    rollout_state: RolloutState | None
    traffic: dict[str, Any] | None
    """Percent of requests per variant: `stable`, `candidate`, `mirror` (`status.traffic`)."""
    current_step: int | None
    analysis: dict[str, Any] | None
    """The candidate's analysis: latest `measurements`, failed and passed intervals."""
    rollback: dict[str, Any] | None
    """The last rollback: `reason`, `message`, `at`, `rejectedVersion`."""
    url: str | None
    """In-cluster URL of the endpoint (Open Inference Protocol v2)."""
    spec: dict[str, Any]
    """The ModelDeployment's spec, as `kubectl get -o yaml` shows it."""
    conditions: list[Condition]
    created_at: str | None


RolloutPreset = Literal["canary", "all-at-once"]
"""Ready-made strategies: `canary` shifts 10 % → 50 % → 100 % of the traffic, each step held
until one analysis interval passes (error rate ≤ 1 %, p99 ≤ 250 ms, and prediction drift
against stable ≤ 0.1 JSD when payload logging is on); `all-at-once` gives the candidate all
traffic as soon as its pods are Ready."""

RolloutOutcome = Literal["in_progress", "promoted", "rolled_back", "superseded"]


class RolloutCreate(InputSchema):
    """Start rolling out a version of the deployment's model as its candidate."""

    version_id: uuid.UUID
    """The registry version to roll out (it must be Ready in the cluster)."""
    preset: RolloutPreset = "canary"
    """The strategy when `strategy` is not given (see `RolloutPreset`)."""
    strategy: Strategy | None = None
    """Your own steps (`canary.steps` of `setWeight` / `pause` / `analysis`) and/or `shadow`;
    replaces the preset's strategy."""
    analysis: Analysis | None = None
    """Your own checks; replaces the preset's analysis."""
    on_failure: Literal["rollback", "pause"] = "rollback"
    """When analysis fails: send all traffic back to stable, or hold for a person to decide."""
    promotion: Literal["auto", "manual"] = "auto"
    """`manual` waits after the last step for `POST …/promote`."""


class RolloutAction(InputSchema):
    """Why a person acts on a rollout; kept in the history and the audit log."""

    reason: str = Field(default="", max_length=1000)


class RolloutPublic(OutputSchema):
    """One rollout of a deployment: who started it, from which version to which, how it ended."""

    id: uuid.UUID
    deployment: str
    from_version: str
    """The ModelVersion that served before the rollout."""
    to_version: str
    """The candidate ModelVersion."""
    strategy: dict[str, Any]
    """The strategy, analysis, onFailure and promotion applied (camelCase, as in the spec)."""
    outcome: RolloutOutcome
    reason: str
    """Why it ended: the analysis that failed, who rolled it back and why, …"""
    started_by: uuid.UUID | None
    started_at: datetime
    ended_by: uuid.UUID | None
    """The person who promoted or rolled it back; null when the operator ended it."""
    ended_at: datetime | None


class ProductionPromotion(InputSchema):
    """Copy a staging deployment's serving version into production."""

    target: str | None = Field(default=None, min_length=1, max_length=63, pattern=NAME_PATTERN)
    """The production deployment; default `<model>-production`. Created when absent (with the
    staging deployment's scaling, runtime and payload logging)."""
    preset: RolloutPreset = "canary"
    """How an existing production deployment takes the version: as a rollout with this
    preset."""
    reason: str = Field(default="", max_length=1000)


class ProductionPromotionPublic(OutputSchema):
    """What the promotion did to the production deployment."""

    action: Literal["created", "rollout_started"]
    version: str
    """The ModelVersion promoted (the staging deployment's serving version)."""
    deployment: DeploymentPublic


class MetricPoint(OutputSchema):
    """One point of a series: `t` in Unix seconds, `v` its value."""

    t: float
    v: float


class ClassShare(OutputSchema):
    """How often one class was predicted."""

    label: str
    """The class as the model answers it (`__other__`: classes beyond the runtime's cap)."""
    share: list[MetricPoint]
    """Its share of the output's predicted rows in each window (0–1)."""


class OutputPredictions(OutputSchema):
    """The prediction distribution of one model output over time: a numerical output's mean and
    quantiles (from a histogram, so p50/p90 are interpolated within its buckets), or a label
    output's share per class."""

    output: str
    kind: Literal["numerical", "categorical"]
    rows_per_second: list[MetricPoint]
    """Predicted rows per second (every row of every batch)."""
    mean: list[MetricPoint]
    """Numerical outputs only: the mean value in each window (exact)."""
    p50: list[MetricPoint]
    """Numerical outputs only: the median, interpolated within the histogram's buckets."""
    p90: list[MetricPoint]
    """Numerical outputs only: the 90th percentile, likewise."""
    classes: list[ClassShare]
    """Label outputs only: each class's share, most predicted first."""


class VersionMetrics(OutputSchema):
    """The serving series of one ModelVersion's pods. Rates are per second over the answer's
    `window_seconds`; ratios are shares of all requests (no point where there was no traffic)."""

    version: str
    """The ModelVersion (resource name) whose pods served."""
    role: Literal["stable", "candidate"] | None
    """Its role in the deployment now; null for a version that served earlier in the range."""
    requests_per_second: list[MetricPoint]
    errors_4xx_ratio: list[MetricPoint]
    """Share of requests refused as the caller's fault (400 bad input, 404, 413, …)."""
    errors_5xx_ratio: list[MetricPoint]
    """Share of requests that failed on the server (500, 503)."""
    latency_p50_seconds: list[MetricPoint]
    latency_p95_seconds: list[MetricPoint]
    latency_p99_seconds: list[MetricPoint]
    schema_violations_per_second: list[MetricPoint]
    """Requests refused because they do not fit the model's signature."""
    batch_size_mean: list[MetricPoint]
    """Mean rows per onnxruntime run (requests are merged into batches)."""
    predictions: list[OutputPredictions]
    """The distribution of what the model answered, per tracked output (outputs with one value
    per row; probability maps are not tracked), by name."""


class DeploymentMetrics(OutputSchema):
    """A deployment's serving metrics over a range, one entry per version that served."""

    deployment: str
    start: datetime
    end: datetime
    step_seconds: int
    window_seconds: int
    """Each point is the rate or quantile over the `window_seconds` that end at it."""
    versions: list[VersionMetrics]


class UsageDay(OutputSchema):
    """One UTC day of a deployment's serving (today: so far)."""

    day: date
    requests: int
    """Inference requests its pods answered, whatever their status."""
    predictions: int
    """Rows its models ran on (a request may carry many)."""


class DeploymentUsage(OutputSchema):
    deployment: str
    requests: int
    predictions: int
    days: list[UsageDay]
    """Oldest first; days without serving are left out."""


class OrganizationUsage(OutputSchema):
    """Requests and predictions per deployment per UTC day, from Prometheus."""

    start: date
    end: date
    """Today (counted so far)."""
    deployments: list[DeploymentUsage]
    """Most requests first."""
