"""Settings of the serving runtime, read once from `MODELPLANE_RUNTIME_*` environment variables.

The operator sets these on every serving pod from the ModelVersion (artifact, digest, signature,
feature schema) and the ModelDeployment (batching, payload logging, variant). Complex values
(`SIGNATURE`, `FEATURE_SCHEMA`, `PROVIDERS`, `ALLOWED_DOMAINS`) are JSON. Nothing reads the
environment per request: `RuntimeSettings` is built once in `main()` and passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import modelplane_onnx as onnx_policy

Datatype = Literal[
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]


class TensorSpec(BaseModel):
    """One declared input or output tensor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    datatype: Datatype
    shape: tuple[int, ...]
    """Dimensions; -1 is dynamic. The first dimension is the batch dimension when it is -1."""

    @field_validator("shape")
    @classmethod
    def _dims_valid(cls, shape: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < -1 or d == 0 for d in shape):
            raise ValueError("dimensions are positive integers or -1 (dynamic)")
        return shape


class Signature(BaseModel):
    """The declared inputs and outputs of the model (from the ModelVersion)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inputs: tuple[TensorSpec, ...] = Field(min_length=1)
    outputs: tuple[TensorSpec, ...] = Field(min_length=1)


class FeatureSpec(BaseModel):
    """One feature of the payload log: element `index` of each row of input tensor `input`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    type: Literal["numerical", "categorical"]
    input: str
    index: int = Field(default=0, ge=0)


class RuntimeSettings(BaseSettings):
    """Everything the runtime can be told; env prefix `MODELPLANE_RUNTIME_`."""

    model_config = SettingsConfigDict(
        env_prefix="MODELPLANE_RUNTIME_", extra="ignore", use_attribute_docstrings=True, frozen=True
    )

    # The model
    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    model_uri: str = Field(min_length=1)
    """`file:///path/model.onnx`, `s3://bucket/key.onnx` or `models:/<name>/<version>`."""
    model_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: Signature
    feature_schema: tuple[FeatureSpec, ...] | None = None

    # Artifact fetching and safety
    cache_dir: Path = Path("/tmp/modelplane-runtime-cache")  # noqa: S108 - a pod-local emptyDir
    max_artifact_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    max_nodes: int = Field(default=onnx_policy.DEFAULT_MAX_NODES, gt=0)
    allowed_domains: tuple[str, ...] = tuple(sorted(onnx_policy.DEFAULT_ALLOWED_DOMAINS))
    mlflow_tracking_uri: str | None = None
    mlflow_token: str | None = None
    mlflow_artifact_path: str = "model.onnx"
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"

    # Serving
    host: str = "0.0.0.0"  # noqa: S104 - a pod listens on its own interface
    port: int = Field(default=8080, ge=0, le=65535)
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    intra_op_threads: int = Field(default=1, ge=0)
    """onnxruntime intra-op threads; set to the pod's CPU limit (0 = onnxruntime's default)."""
    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_batch_size: int = Field(default=64, gt=0)
    """Most rows one request may carry, and most rows merged into one `session.run`."""
    max_latency_ms: float = Field(default=2.0, ge=0)
    """Longest a request waits for others to join its batch (only under concurrent load)."""
    inline_threshold_ms: float = Field(default=1.0, ge=0)
    """Inference that takes less than this runs inline on the event loop, unbatched."""
    allow_non_finite: bool = False
    """Accept NaN and ±Inf in floating-point inputs (rejected with 400 by default)."""
    graceful_timeout_s: float = Field(default=30.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = False
    """Log every request (JSON, with request id and latency); errors are always logged."""

    # Shadow traffic (see shadow.py)
    shadow_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """Where copies of answered requests go: the deployment's `<name>-shadow` Service."""
    shadow_percent: int = Field(default=0, ge=0, le=100)
    """Percent of answered requests copied to `shadow_url` (0 = off)."""
    shadow_tolerance: float = Field(default=0.0, ge=0, le=1)
    """How far floating-point outputs may differ and still agree (relative, absolute below 1)."""

    # Payload logging for drift
    payload_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    payload_bucket: str | None = None
    payload_namespace: str = "default"
    payload_deployment: str = "default"
    payload_variant: str = "stable"
    payload_flush_rows: int = Field(default=5000, gt=0)
    payload_flush_interval_s: float = Field(default=60.0, gt=0)
    payload_max_buffered_rows: int = Field(default=50_000, gt=0)
    payload_max_buffered_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    """Cap on the tensor bytes held for payload logs; beyond it rows are dropped and counted."""
    payload_max_input_elements: int = Field(default=1024, gt=0)
    payload_max_output_elements: int = Field(default=32, gt=0)
