"""ModelVersion: one immutable, verified model artifact.

A ModelVersion names an ONNX file by URI and SHA-256 digest and declares the tensors it takes and
returns. The operator downloads it, checks the digest, opens it with onnxruntime and compares the
declared signature with the graph; serving pods check the digest again before they load it. The
spec never changes after creation (a CEL transition rule): a new model is a new ModelVersion, so
what a deployment serves is always what was verified.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from pydantic.config import JsonDict

from modelplane_crds.base import API_VERSION, DNS_LABEL, SHA256, K8sModel, ObjectMeta, Rule
from modelplane_crds.conditions import ObjectStatus

# Condition types besides Ready.
ARTIFACT_VERIFIED = "ArtifactVerified"
SIGNATURE_VALID = "SignatureValid"

# Reasons.
VERIFIED = "Verified"
VERIFYING = "Verifying"
DIGEST_MISMATCH = "DigestMismatch"
SIGNATURE_MISMATCH = "SignatureMismatch"
ARTIFACT_UNREACHABLE = "ArtifactUnreachable"
ARTIFACT_TOO_LARGE = "ArtifactTooLarge"
NOT_ONNX = "NotOnnx"
INVALID_MODEL = "InvalidModel"

ARTIFACT_URI = r"^(s3://|file://|https://|models:/)\S+$"
"""Where artifacts may come from: S3 (or MinIO), a local file (development only), HTTPS, or an
MLflow Model Registry URI."""

DataType = Literal[
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
"""Tensor datatypes by their Open Inference Protocol v2 names."""

DEFAULT_MAX_SIZE_BYTES = 2 * 1024**3
_MAP_BY_NAME: JsonDict = {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}


USED_BY_LIMIT = 256
"""`status.usedBy` names at most this many ModelDeployments (a bounded status)."""


class Artifact(K8sModel):
    """The model file and how to check it."""

    uri: str = Field(max_length=2048, pattern=ARTIFACT_URI)
    """Where the model file is: `s3://bucket/key`, `https://…`, an MLflow registry URI
    `models:/<name>/<version>`, or `file://…` (local development only)."""

    sha256: str = Field(pattern=SHA256)
    """SHA-256 digest of the file as 64 lowercase hex characters (`sha256sum model.onnx`). The
    operator and every serving pod refuse a file whose digest differs."""

    format: Literal["onnx"] = "onnx"
    """Serialization format of the model. Only `onnx` is served: formats that run code on load,
    such as pickle, are not accepted."""

    max_size_bytes: int = Field(default=DEFAULT_MAX_SIZE_BYTES, ge=1, le=64 * 1024**3)
    """Largest file the operator and the serving pods will download, in bytes; a bigger file is
    rejected with reason ArtifactTooLarge. Defaults to 2 GiB."""


class TensorSpec(K8sModel):
    """One input or output tensor of the model."""

    name: str = Field(min_length=1, max_length=256)
    """Tensor name as it appears in the ONNX graph and in inference requests."""

    datatype: DataType
    """Element type, by its Open Inference Protocol v2 name (FP32, INT64, BOOL, BYTES …)."""

    shape: list[Annotated[int, Field(ge=-1)]] = Field(min_length=0, max_length=8)
    """Dimensions of the tensor; -1 marks a dynamic dimension such as the batch size, for
    example `[-1, 30]`."""


class Signature(K8sModel):
    """The tensors the model takes and returns; checked against the ONNX graph."""

    inputs: list[TensorSpec] = Field(min_length=1, max_length=64, json_schema_extra=_MAP_BY_NAME)
    """Input tensors, each name at most once."""

    outputs: list[TensorSpec] = Field(min_length=1, max_length=64, json_schema_extra=_MAP_BY_NAME)
    """Output tensors, each name at most once."""


class Feature(K8sModel):
    """A named model feature, located inside an input tensor, used by drift monitoring."""

    name: str = Field(min_length=1, max_length=128)
    """Feature name, as shown in drift results and payload logs."""

    type: Literal["numerical", "categorical"]
    """Whether values are numbers on a scale (`numerical`) or labels (`categorical`); picks the
    drift test when a monitor's test is `auto`."""

    input: str = Field(min_length=1, max_length=256)
    """Name of the input tensor that carries the feature."""

    index: int | None = Field(default=None, ge=0, le=65535)
    """Position of the feature in the tensor's last dimension. Omit when the tensor carries only
    this feature."""


class ReferenceDataset(K8sModel):
    """A sample of the data the model was trained or validated on: the baseline for drift."""

    uri: str = Field(max_length=2048, pattern=r"^(s3://|file://|https://)\S+$")
    """Where the dataset is: `s3://bucket/key`, `https://…` or `file://…`."""

    sha256: str = Field(pattern=SHA256)
    """SHA-256 digest of the dataset file, 64 lowercase hex characters."""

    format: Literal["parquet", "csv"] = "parquet"
    """File format of the dataset; columns are named after the features."""


class Provenance(K8sModel):
    """Where the model came from. Informational: shown in the dashboard and audit log."""

    mlflow_run_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    """The MLflow run that produced the model."""

    mlflow_experiment_id: str | None = Field(default=None, max_length=19, pattern=r"^[0-9]+$")
    """The MLflow experiment of that run."""

    metrics: dict[str, float] | None = Field(default=None, max_length=50)
    """The run's metrics (latest value of each, at most 50) when the version was registered."""

    registry_name: str | None = Field(default=None, max_length=256)
    """Name of the registered model in the MLflow Model Registry."""

    registry_version: str | None = Field(default=None, max_length=64)
    """Version of the registered model in the MLflow Model Registry."""

    git_commit: str | None = Field(default=None, pattern=r"^[a-f0-9]{7,40}$")
    """Git commit of the training code, as hex."""

    dataset: str | None = Field(default=None, max_length=2048)
    """Name or URI of the training dataset."""


class ModelVersionSpec(K8sModel):
    """The desired state of a ModelVersion. Immutable after creation."""

    cel_rules = (
        Rule(
            cel="self == oldSelf",
            message="spec is immutable: create a new ModelVersion instead",
        ),
        Rule(
            cel="!has(self.features) || self.features.all(f, "
            "self.signature.inputs.exists(i, i.name == f.input))",
            message="every feature's input must name one of signature.inputs",
            field_path=".features",
            check=lambda s: all(
                any(i.name == f.input for i in s.signature.inputs) for f in s.features
            ),
        ),
    )

    model_name: str = Field(max_length=63, pattern=DNS_LABEL)
    """Name of the model this is a version of, for example `fraud-detector`."""

    version: str = Field(
        min_length=1, max_length=63, pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.+]*[A-Za-z0-9])?$"
    )
    """Version of the model, for example `3` or `1.4.0`."""

    artifact: Artifact
    """The model file, its digest and format."""

    signature: Signature
    """The tensors the model takes and returns."""

    features: list[Feature] = Field(
        default_factory=list, max_length=512, json_schema_extra=_MAP_BY_NAME
    )
    """The model's features, for drift monitoring. Optional."""

    reference_dataset: ReferenceDataset | None = None
    """Baseline data for drift monitors that use the stable version's reference."""

    provenance: Provenance | None = None
    """Where the model came from."""


class ModelVersionStatus(ObjectStatus):
    """The observed state of a ModelVersion."""

    verified_sha256: str | None = Field(default=None, pattern=SHA256)
    """Digest of the file the operator downloaded and verified."""

    size_bytes: int | None = Field(default=None, ge=0)
    """Size of the verified file in bytes."""

    used_by: list[Annotated[str, StringConstraints(max_length=253)]] = Field(
        default_factory=list,
        max_length=USED_BY_LIMIT,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )
    """Names of the ModelDeployments that serve this version as stable or candidate, sorted;
    at most the first 256 (`usedByCount` counts them all)."""

    used_by_count: int | None = Field(default=None, ge=0)
    """How many ModelDeployments serve this version as stable or candidate."""


class ModelVersion(K8sModel):
    """ModelVersion is one immutable, verified ONNX model artifact with its signature."""

    api_version: Literal["modelplane.io/v1alpha1"] = API_VERSION
    kind: Literal["ModelVersion"] = "ModelVersion"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ModelVersionSpec
    """The model artifact and its declared signature. Immutable."""

    status: ModelVersionStatus | None = None
    """The result of verification, written by the operator."""
