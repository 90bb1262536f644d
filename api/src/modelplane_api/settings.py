"""Configuration of the facade, read once from `MODELPLANE_API_*` environment variables.

`create_app(settings)` receives an instance explicitly; `get_settings()` is the cached reader the
entry point uses and tests can bypass by building `Settings(...)` themselves. Validation refuses
weak or missing secrets instead of starting with a guessable default.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from modelplane_crds.serving import OnnxLimits

JwtAlgorithm = Literal["EdDSA", "ES256", "RS256", "HS256"]
MIN_HMAC_SECRET_BYTES = 32


class JwtKey(BaseModel):
    """One signing key of the access-token key ring; its algorithm is pinned to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    algorithm: JwtAlgorithm
    private_key: SecretStr | None = None
    """PEM private key (asymmetric) or the shared secret (HS256); absent for verify-only keys."""
    public_key: str | None = None
    """PEM public key; derived from the private key when omitted."""

    @model_validator(mode="after")
    def _check_material(self) -> JwtKey:
        if self.algorithm == "HS256":
            secret = self.private_key.get_secret_value() if self.private_key else ""
            if len(secret.encode()) < MIN_HMAC_SECRET_BYTES or len(set(secret)) < 8:
                raise ValueError(
                    f"HS256 key {self.kid!r} needs a random secret of at least "
                    f"{MIN_HMAC_SECRET_BYTES} bytes"
                )
        elif self.private_key is None and self.public_key is None:
            raise ValueError(f"key {self.kid!r} needs private_key or public_key")
        return self


class Settings(OnnxLimits, BaseSettings):
    """Everything the facade needs to run; see docs/api.md for each variable.

    The ONNX limits an upload is checked against (`max_nodes`, `allowed_domains`) are
    `OnnxLimits`, the same fields under the same names and defaults as the operator's and the
    serving pods' settings (`MODELPLANE_API_MAX_NODES`, `…_ALLOWED_DOMAINS`)."""

    model_config = SettingsConfigDict(env_prefix="MODELPLANE_API_", extra="ignore")

    database_url: str = Field(min_length=1)
    """SQLAlchemy URL, `postgresql+psycopg://user:pass@host:port/db`."""
    redis_url: str = Field(min_length=1)
    jwt_keys: Annotated[list[JwtKey], NoDecode] = Field(min_length=1)
    """JSON list of keys: `[{"kid", "algorithm", "private_key", "public_key"}]`."""
    jwt_active_kid: str | None = None
    """Key that signs new tokens; default: the first key with a private key."""
    jwt_issuer: str = "modelplane"
    jwt_audience: str = "modelplane-api"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=3600)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300)
    refresh_reuse_grace_seconds: float = Field(default=10.0, ge=0, le=60)
    clock_skew_seconds: int = Field(default=30, ge=0, le=60)

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: int = Field(default=5, ge=1)
    db_statement_timeout_ms: int = Field(default=10_000, ge=100)
    redis_timeout_seconds: float = Field(default=1.0, gt=0)

    rate_limit_per_ip: int = Field(default=600, ge=1)
    """Requests per IP address per window, all endpoints."""
    rate_limit_per_user: int = Field(default=600, ge=1)
    """Requests per authenticated principal per window."""
    rate_limit_auth_per_ip: int = Field(default=20, ge=1)
    """Login, register and refresh attempts per IP address per window."""
    rate_limit_login_per_account: int = Field(default=10, ge=1)
    """Login attempts per account (email) per window, from any address."""
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    inference_rate_per_principal: int = Field(default=6000, ge=1)
    """Inference calls per user or API key per window (instead of `rate_limit_per_user`)."""
    inference_rate_per_organization: int = Field(default=30000, ge=1)
    """Inference calls per organization per window, all callers together."""
    inference_rate_per_ip: int = Field(default=30000, ge=1)
    """Inference calls per client address per window, counted before credentials are checked."""
    tracking_rate_per_principal: int = Field(default=6000, ge=1)
    """MLflow tracking calls per user or API key per window (a training loop logs often)."""
    tracking_rate_per_ip: int = Field(default=30000, ge=1)
    """MLflow tracking calls per client address per window, counted before credentials."""
    max_inference_bytes: int = Field(default=16 * 1024**2, ge=1024, le=2 * 1024**3 - 1)
    """Largest inference request body the proxy forwards; larger bodies get 413."""
    inference_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """How long the proxy waits for a deployment's answer before 503."""

    prometheus_url: str | None = None
    """Prometheus that scrapes the serving pods with Modelplane's scrape configuration
    (pod discovery relabelled to `namespace`, `deployment`, `model_version`); none: the
    deployment metrics endpoint answers 503."""
    prometheus_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long one range query may take before the metrics endpoint answers 503."""
    prometheus_scrape_interval_seconds: float = Field(default=15.0, ge=1, le=300)
    """The scrape interval of the serving pods: the smallest step, and a rate's window is at
    least four of it (so every point rests on several samples)."""
    metrics_cache_seconds: int = Field(default=10, ge=0, le=300)
    """How long one deployment's metrics answer is kept in Redis (0: not cached)."""

    kubernetes_enabled: bool = True
    """Apply Organization resources to the cluster; off only for API-only development."""
    kubeconfig: str | None = None
    """Path of a kubeconfig; default: in-cluster config, then ~/.kube/config."""
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body of every route but the uploads."""

    s3_endpoint_url: str | None = None
    """S3 (or MinIO) endpoint for model artifacts; default: AWS."""
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    artifact_bucket: str = Field(default="models", min_length=3, max_length=63)
    """Bucket of artifacts; each organization writes under its namespace's prefix (`mp-<slug>/`)."""
    payload_bucket: str | None = Field(default=None, min_length=3, max_length=63)
    """Bucket of payload logs and feedback of deployments whose `payloadLogging` names no URI
    (keep it equal to the operator's `PAYLOAD_BUCKET`)."""
    max_upload_bytes: int = Field(default=100 * 1024**2, ge=1024, le=2 * 1024**3 - 1)
    """Largest ONNX file (and reference dataset) an upload may carry; larger bodies get 413."""
    max_concurrent_uploads: int = Field(default=2, ge=1, le=64)
    """Uploads checked at once by this process (the ONNX check holds the file and an
    onnxruntime session in memory); more at once get 503 with `Retry-After`."""
    onnx_max_nodes: int | None = Field(default=None, ge=1)
    """Deprecated name of `max_nodes` (`…_ONNX_MAX_NODES`), still honoured."""
    onnx_allowed_domains: list[str] | None = None
    """Deprecated name of `allowed_domains` (`…_ONNX_ALLOWED_DOMAINS`), still honoured."""
    mlflow_tracking_uri: str | None = None
    """MLflow tracking server (workspaces enabled) the registry mirrors into; none: no mirror."""
    mlflow_token: SecretStr | None = None
    """Bearer token the facade sends MLflow on every call (the local platform's MLflow refuses
    calls without it, see docs/security.md); never a caller's own credentials."""
    background_tasks: bool = True
    """Run the outbox worker and the periodic reconciliation in this process."""
    outbox_interval_seconds: float = Field(default=2.0, gt=0)
    """How often pending cluster writes are retried."""
    reconcile_interval_seconds: float = Field(default=60.0, gt=0)
    """How often every registered ModelVersion is compared with the cluster and re-applied."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    dashboard_dir: str | None = None
    """Directory of the dashboard's static export (`frontend/out`), served at `/` after the API
    routes; none, or a directory without `index.html`: no dashboard."""

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _honour_deprecated_names(self) -> Settings:
        self.take_old_names(self.onnx_max_nodes, self.onnx_allowed_domains)
        return self

    @model_validator(mode="after")
    def _check_ring(self) -> Settings:
        kids = [key.kid for key in self.jwt_keys]
        if len(set(kids)) != len(kids):
            raise ValueError("jwt_keys: kid values must be unique")
        signer = self.signing_key
        if signer.private_key is None:
            raise ValueError(f"jwt_active_kid {signer.kid!r} has no private key")
        return self

    @property
    def signing_key(self) -> JwtKey:
        """The key that signs new access tokens."""
        if self.jwt_active_kid is not None:
            for key in self.jwt_keys:
                if key.kid == self.jwt_active_kid:
                    return key
            raise ValueError(f"jwt_active_kid {self.jwt_active_kid!r} is not in jwt_keys")
        for key in self.jwt_keys:
            if key.private_key is not None:
                return key
        raise ValueError("jwt_keys holds no key with a private key")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
