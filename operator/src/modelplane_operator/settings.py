"""The operator's configuration, read once from the environment (prefix `MODELPLANE_OPERATOR_`).

`Settings()` is built in `__main__` (or in the kopf entry file for `kopf run` / tests) and handed
to everything else through the typed memo; nothing else reads the environment. Lists are given
as JSON (`MODELPLANE_OPERATOR_IMAGE_ALLOWLIST='["ghcr.io/modelplane/"]'`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelplane_crds.serving import ServingLimits

DEFAULT_RUNTIME_IMAGE = "ghcr.io/modelplane/serving-runtime:0.1.0"
DEFAULT_OPERATOR_IMAGE = "ghcr.io/modelplane/operator:0.1.0"


class Settings(ServingLimits, BaseSettings):
    """Everything the operator can be told from outside.

    The limits a model is verified against (`max_artifact_bytes`, `max_nodes`,
    `allowed_domains`) are `ServingLimits`, the same fields under the same names as the serving
    pods' settings: `limits()` is what the operator verifies under and hands to its pods."""

    model_config = SettingsConfigDict(env_prefix="MODELPLANE_OPERATOR_", extra="ignore")

    kubeconfig: Path | None = None
    """Kubeconfig to use; unset means in-cluster config when running in a pod, else the default
    kubeconfig (`KUBECONFIG` or ~/.kube/config)."""

    namespaces: list[str] = Field(default_factory=list)
    """Namespaces (or kopf globs such as `mp-*`) to watch; empty means the whole cluster."""

    platform_namespace: str = "modelplane-system"
    """Namespace the platform runs in; org network policies admit traffic from it."""

    worker_limit: int = Field(default=20, ge=1, le=1000)
    """Most objects reconciled at the same time (kopf `settings.queueing.worker_limit`)."""

    queue_idle_timeout_s: float = Field(default=0.5, gt=0)
    """How long kopf keeps an object's worker after its last event. A waiting worker holds one of
    the `worker_limit` slots, so throughput is at most worker_limit / this per second; kopf's
    default of 5 s caps 20 workers at 4 objects per second."""

    reconcile_interval_s: float = Field(default=300.0, gt=0)
    """How often Organizations are re-converged even without a change (drift repair)."""

    retry_delay_s: float = Field(default=5.0, gt=0)
    """First delay before retrying a transient failure; doubles per attempt."""

    retry_max_delay_s: float = Field(default=300.0, gt=0)
    """Longest delay between retries of a transient failure."""

    # Artifacts (the limits are `ServingLimits`' fields) -------------------------------------
    max_graph_nodes: int | None = Field(default=None, ge=1)
    """Deprecated name of `max_nodes` (`…_MAX_GRAPH_NODES`), still honoured."""

    allowed_opset_domains: list[str] | None = None
    """Deprecated name of `allowed_domains` (`…_ALLOWED_OPSET_DOMAINS`), still honoured."""

    file_artifact_root: Path | None = None
    """Directory `file://` artifacts may come from (development only); unset refuses them."""

    s3_endpoint_url: str | None = None
    """S3 endpoint (MinIO in development); unset means boto3's own lookup (`AWS_ENDPOINT_URL_S3`,
    then AWS). Unset keys likewise fall back to boto3's credential chain (`AWS_ACCESS_KEY_ID` …,
    or the pod's IAM role)."""

    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_region: str = "us-east-1"

    mlflow_tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "MODELPLANE_OPERATOR_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"
        ),
    )
    """MLflow server used to resolve `models:/<name>/<version>` artifact URIs (falls back to
    `MLFLOW_TRACKING_URI`)."""

    mlflow_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("MODELPLANE_OPERATOR_MLFLOW_TOKEN", "MLFLOW_TRACKING_TOKEN"),
    )
    """Bearer token sent with those downloads (the local platform's MLflow refuses calls
    without it; falls back to `MLFLOW_TRACKING_TOKEN`)."""

    download_timeout_s: float = Field(default=60.0, gt=0)

    # Admission -------------------------------------------------------------------------------
    webhook_mode: Literal["off", "managed", "external"] = "managed"
    """`managed`: serve on `webhook_host` with our own self-signed certificate and let kopf
    register the webhook configurations (local runs and tests). `external`: serve with the
    certificate cert-manager mounts at `webhook_cert_dir`; the configurations come from
    manifests/base/webhook. `off`: no admission webhooks."""

    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=9443, ge=1, le=65535)
    webhook_cert_dir: Path | None = None
    """Where `tls.crt` / `tls.key` are (external mode) or are written (managed mode)."""

    webhook_configuration_name: str = "modelplane.io"
    """Name of the managed Validating/MutatingWebhookConfiguration."""

    image_allowlist: list[str] = Field(default_factory=lambda: ["ghcr.io/modelplane/"])
    """Images serving pods may run (see `modelplane_webhooks.validation.image_allowed`)."""

    default_runtime_image: str = DEFAULT_RUNTIME_IMAGE

    service_account: str = "modelplane-operator"
    """The operator's own ServiceAccount in `platform_namespace`: the one identity the
    production rule exempts (besides `privileged_users`)."""

    privileged_users: list[str] = Field(default_factory=list)
    """Users allowed to change production deployments besides org admins (e.g. a GitOps
    controller's service account)."""

    # ModelDeployments: serving, rollout and analysis -----------------------------------------
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

    runtime_mlflow_token: SecretStr | None = None
    """Bearer token those pods download with: written into each organization's namespace as
    Secret `modelplane-mlflow`, which pods of `models:/` versions read. The local platform's
    MLflow accepts it for `GET /model-versions/get-artifact` in the default workspace only."""

    serving_node_selector: dict[str, str] = Field(default_factory=dict)
    """Node labels serving pods must match (JSON), e.g. `{"type": "kwok"}` for simulated nodes."""

    serving_tolerations: list[dict[str, Any]] = Field(default_factory=list)
    """Tolerations of serving pods (JSON list of Kubernetes tolerations)."""

    # DriftMonitors ---------------------------------------------------------------------------
    monitor_image: str = DEFAULT_OPERATOR_IMAGE
    """Image the drift job's CronJob runs (`python -m modelplane_operator.drift`): the
    operator's own image."""

    monitor_interval_s: float = Field(default=60.0, gt=0)
    """How often each DriftMonitor is re-converged (its deployment appearing or going, drift
    repair of its CronJob)."""

    monitor_sts_access_key: SecretStr | None = None
    monitor_sts_secret_key: SecretStr | None = None
    """The identity that mints each drift job's own S3 credentials through STS AssumeRole (on
    MinIO a plain user whose policy reads and writes only drift results, not root: its policy
    bounds every job's; `modelplane dev up` creates `modelplane-drift`). Set, or
    with `monitor_sts_role_arn`, each monitor's job gets temporary credentials limited to its
    deployment's payload logs, its reference and its own result prefixes (Secret
    `drift-<monitor>-s3`); unset, the job uses the org's `modelplane-s3` Secret as serving
    pods do. Unset keys with a role ARN use boto3's chain (the operator pod's IAM role)."""

    monitor_sts_endpoint_url: str | None = None
    """STS endpoint; unset means `s3_endpoint_url` (MinIO serves STS there), else AWS's."""

    monitor_sts_role_arn: str | None = None
    """On AWS: the role assumed for drift jobs (it must allow reading payload logs and
    references and writing `*/drift-history/*`, `*/drift-profiles/*`); MinIO ignores it."""

    monitor_credentials_ttl_s: int = Field(default=3600, ge=3600, le=43200)
    """Lifetime of a drift job's credentials. The operator mints new ones when less than the
    job's deadline plus ten minutes is left, so a job never starts with credentials that expire
    before its deadline."""

    @property
    def scoped_monitor_credentials(self) -> bool:
        """Whether drift jobs get their own narrowed credentials (see `monitor_sts_access_key`)."""
        return self.monitor_sts_access_key is not None or self.monitor_sts_role_arn is not None

    # Process ---------------------------------------------------------------------------------
    liveness_endpoint: str | None = "http://127.0.0.1:8081/healthz"
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    """0 turns the metrics endpoint off."""

    log_format: Literal["json", "plain"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    leader_election: bool = False
    """Hold a coordination.k8s.io Lease before acting, so that of several replicas only one
    reconciles and serves admission (see docs/operator.md, "Peering")."""

    lease_name: str = "modelplane-operator"
    lease_namespace: str | None = None
    """Namespace of the Lease; defaults to `platform_namespace`."""

    lease_duration_s: float = Field(default=15.0, gt=1)
    identity: str | None = None
    """This replica's name in the Lease; defaults to the host name and process id."""

    @model_validator(mode="after")
    def _honour_deprecated_names(self) -> Settings:
        self.take_old_names(self.max_graph_nodes, self.allowed_opset_domains)
        return self
