"""What the operator tells a serving pod: the one contract between the operator and the runtime.

Like MLServer's `ModelSettings`, one typed model is written by one side and read by the other:
the operator builds a `ServingSettings` from a ModelVersion and a ModelDeployment and serialises
it into the pod's `MODELPLANE_RUNTIME_*` environment (`to_env`); the serving runtime's
`RuntimeSettings` derives from it and parses that environment back. Every field has one name from
the operator's settings to the pod's, and the tensor types are the ModelVersion's own.

`ServingLimits` are the limits a model is checked against. The operator verifies a ModelVersion
against `limits.for_artifact(spec.artifact)` and hands exactly those limits to its pods, so a
version that verified is one its pods will load. Its graph limits (`OnnxLimits`) are also the
facade's upload check, under the same names. It lives beside the CRDs because it is built from
their types, and the operator, the runtime and the facade can install it (pydantic only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from modelplane_crds.model_version import Artifact, Feature, Signature

ENV_PREFIX: Final = "MODELPLANE_RUNTIME_"
RUNTIME_UID: Final = 65532
"""The serving runtime images' own user (`USER` of serving-runtime/Dockerfile and Dockerfile.gpu,
tested equal): the operator runs serving pods as it, so the files the image owns stay usable."""

DEFAULT_MAX_ARTIFACT_BYTES: Final = 100 * 1024**2
DEFAULT_MAX_NODES: Final = 100_000
"""The ONNX policy's own default (`modelplane_onnx.DEFAULT_MAX_NODES`, tested equal)."""
DEFAULT_ALLOWED_DOMAINS: Final = ("", "ai.onnx", "ai.onnx.ml")
"""The ONNX policy's own default (`modelplane_onnx.DEFAULT_ALLOWED_DOMAINS`, tested equal)."""


class OnnxLimits(BaseModel):
    """The limits of the ONNX policy: what a graph may hold. The facade checks uploads against
    them, the operator verifies ModelVersions and the pods load models under them."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    max_nodes: int = Field(default=DEFAULT_MAX_NODES, gt=0)
    """Most nodes an ONNX graph may have, sub-graphs and local functions included."""

    allowed_domains: tuple[str, ...] = DEFAULT_ALLOWED_DOMAINS
    """Operator-set domains a model may use; anything else is a custom op and is refused."""

    def take_old_names(self, max_nodes: int | None, allowed_domains: Sequence[str] | None) -> None:
        """Adopt limits given under a component's deprecated names, unless the current name was
        given as well (for a settings class's `model_validator`)."""
        if max_nodes is not None and "max_nodes" not in self.model_fields_set:
            self.max_nodes = max_nodes
        if allowed_domains is not None and "allowed_domains" not in self.model_fields_set:
            self.allowed_domains = tuple(allowed_domains)


class ServingLimits(OnnxLimits):
    """The limits an artifact is verified against by the operator and loaded under by a pod."""

    max_artifact_bytes: int = Field(default=DEFAULT_MAX_ARTIFACT_BYTES, gt=0)
    """Largest artifact downloaded, in bytes (a bigger one is `ArtifactTooLarge`)."""

    def limits(self) -> ServingLimits:
        """Only the limits (of a model that holds more than them)."""
        return ServingLimits.model_validate(self.model_dump(include=set(LIMIT_FIELDS)))

    def for_artifact(self, artifact: Artifact) -> ServingLimits:
        """The limits for one ModelVersion's artifact: the platform's, with the size capped by
        the smaller of the platform's and the version's `maxSizeBytes`."""
        size = min(self.max_artifact_bytes, artifact.max_size_bytes)
        return self.limits().model_copy(update={"max_artifact_bytes": size})


LIMIT_FIELDS: Final = tuple(ServingLimits.model_fields)


class ServingSettings(ServingLimits):
    """Everything the operator sets on a serving pod (the runtime adds its own process settings).

    Only the fields that were given are serialised, so the runtime's defaults apply to the rest."""

    # The model
    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    model_uri: str = Field(min_length=1)
    """`file:///path/model.onnx`, `s3://bucket/key.onnx` or `models:/<name>/<version>`."""
    model_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature: Signature
    feature_schema: tuple[Feature, ...] | None = None

    # Where artifacts come from
    cache_dir: Path = Path("/tmp/modelplane-runtime-cache")  # noqa: S108 - a pod-local emptyDir
    s3_endpoint_url: str | None = None
    mlflow_tracking_uri: str | None = None

    # Serving
    port: int = Field(default=8080, ge=0, le=65535)
    intra_op_threads: int = Field(default=1, ge=0)
    """onnxruntime intra-op threads; set to the pod's CPU limit (0 = onnxruntime's default)."""
    max_batch_size: int = Field(default=64, gt=0)
    """Most rows one request may carry, and most rows merged into one `session.run`."""
    max_latency_ms: float = Field(default=2.0, ge=0)
    """Longest a request waits for others to join its batch (only under concurrent load)."""
    graceful_timeout_s: float = Field(default=30.0, gt=0)

    # Shadow traffic
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

    def to_env(self) -> list[dict[str, str]]:
        """The pod's environment: `MODELPLANE_RUNTIME_<FIELD>` for every field that was given,
        scalars as text and the rest as JSON, sorted by name."""
        given = self.model_dump(
            mode="json",
            by_alias=True,
            include=self.model_fields_set & set(ServingSettings.model_fields),
            exclude_none=True,
        )
        return [
            {"name": f"{ENV_PREFIX}{name.upper()}", "value": _env_value(value)}
            for name, value in sorted(given.items())
        ]


def _env_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
