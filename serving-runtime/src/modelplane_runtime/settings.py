"""Settings of the serving runtime, read once from `MODELPLANE_RUNTIME_*` environment variables.

What the operator sets on every serving pod is `modelplane_crds.serving.ServingSettings`, the
one contract both sides share (the model, its signature and feature schema, the limits it was
verified under, batching, payload logging, shadow traffic); `RuntimeSettings` derives from it and
adds the process's own settings. Complex values (`SIGNATURE`, `FEATURE_SCHEMA`, `PROVIDERS`,
`ALLOWED_DOMAINS`) are JSON. Nothing reads the environment per request: `RuntimeSettings` is
built once in `main()` and passed down.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelplane_crds.model_version import Feature as FeatureSpec
from modelplane_crds.model_version import Signature, TensorSpec
from modelplane_crds.serving import ENV_PREFIX, ServingSettings

__all__ = ["FeatureSpec", "RuntimeSettings", "Signature", "TensorSpec"]


class RuntimeSettings(ServingSettings, BaseSettings):
    """Everything the runtime can be told; env prefix `MODELPLANE_RUNTIME_`. The fields the
    operator sets are `ServingSettings`'; these are the process's own."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", use_attribute_docstrings=True, frozen=True
    )

    # Artifact fetching
    mlflow_token: str | None = None
    mlflow_artifact_path: str = "model.onnx"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"

    # Serving
    host: str = "0.0.0.0"  # noqa: S104 - a pod listens on its own interface
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    inline_threshold_ms: float = Field(default=1.0, ge=0)
    """Inference that takes less than this runs inline on the event loop, unbatched."""
    allow_non_finite: bool = False
    """Accept NaN and ±Inf in floating-point inputs (rejected with 400 by default)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = False
    """Log every request (JSON, with request id and latency); errors are always logged."""

    # Prediction distribution (predictions.py)
    prediction_metrics: bool = True
    """Export the distribution of the model's one-value-per-row outputs to Prometheus."""
    prediction_buckets: dict[str, tuple[float, ...]] = Field(default_factory=dict)
    """Histogram bounds by output name (JSON); outputs not named get the default bounds."""
    prediction_max_classes: int = Field(default=32, gt=0, le=1000)
    """Distinct classes counted per label output; later ones count as `__other__`."""

    # Payload logging for drift
    payload_flush_rows: int = Field(default=5000, gt=0)
    payload_flush_interval_s: float = Field(default=60.0, gt=0)
    payload_max_buffered_rows: int = Field(default=50_000, gt=0)
    payload_max_buffered_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Cap on the tensor bytes held for payload logs; beyond it rows are dropped and counted."""
    payload_max_input_elements: int = Field(default=1024, gt=0)
    payload_max_output_elements: int = Field(default=32, gt=0)

    @field_validator("prediction_buckets")
    @classmethod
    def _increasing_finite_bounds(
        cls, value: dict[str, tuple[float, ...]]
    ) -> dict[str, tuple[float, ...]]:
        for output, bounds in value.items():
            if not bounds or not all(map(math.isfinite, bounds)):
                raise ValueError(f"bounds of '{output}' must be finite numbers, at least one")
            if any(a >= b for a, b in itertools.pairwise(bounds)):
                raise ValueError(f"bounds of '{output}' must increase strictly")
        return value
