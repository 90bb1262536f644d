"""Rollout settings of the operator, read once from `MODELPLANE_OPERATOR_*` variables.

Separate from the core `Settings` (same prefix, unknown variables ignored by both) so that the
ModelDeployment handler can be configured without touching the core module.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RolloutSettings(BaseSettings):
    """How ModelDeployments are served, rolled out and analysed."""

    model_config = SettingsConfigDict(env_prefix="MODELPLANE_OPERATOR_", extra="ignore")

    rollout_interval_s: float = Field(default=10.0, gt=0)
    """How often each ModelDeployment is looked at (steps, pod readiness, analysis due)."""

    resync_interval_s: float = Field(default=60.0, gt=0)
    """How often a settled (Ready, no rollout) ModelDeployment is fully re-applied anyway."""

    traffic_mode: Literal["auto", "HTTPRoute", "ReplicaRatio"] = "auto"
    """`auto`: HTTPRoute when the Gateway API CRDs are installed, else the replica ratio."""

    gateway_name: str | None = None
    """Gateway the HTTPRoutes attach to; unset attaches them to the endpoint Service (mesh)."""

    gateway_namespace: str | None = None

    analysis_source: Literal["auto", "prometheus", "scrape"] = "auto"
    """`auto`: Prometheus when `prometheus_url` is set, else scrape the pods' /metrics."""

    prometheus_url: str | None = None
    """Prometheus used by analysis (and by custom checks without an address)."""

    prometheus_namespace_label: str | None = "namespace"
    """Label Prometheus puts the pod's namespace in (kubernetes_sd relabeling); None to skip."""

    payload_bucket: str | None = None
    """Bucket serving pods log payloads to when a deployment's payloadLogging has no URI."""

    runtime_s3_endpoint_url: str | None = None
    """S3 endpoint given to serving pods (MinIO in development); unset means AWS."""

    runtime_mlflow_tracking_uri: str | None = None
    """MLflow server serving pods fetch `models:/…` artifacts from (as pods reach it)."""

    serving_node_selector: dict[str, str] = Field(default_factory=dict)
    """Node labels serving pods must match (JSON), e.g. `{"type": "kwok"}` for simulated nodes."""

    serving_tolerations: list[dict[str, Any]] = Field(default_factory=list)
    """Tolerations of serving pods (JSON list of Kubernetes tolerations)."""
