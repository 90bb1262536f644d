"""Request and response bodies of models and versions.

A version's `state` is read from its ModelVersion in the cluster, never stored: `pending` (the
ModelVersion waits in the outbox for the cluster), `verifying`, `ready`, `stalled` (with the
operator's reason and message), `missing` (applied once, absent now: the reconciliation re-applies
it) or `unknown` (the cluster did not answer).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from modelplane_api.schemas import InputSchema, OutputSchema
from modelplane_crds.model_version import Feature, Signature

MODEL_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS label: the name is also the ModelVersions' `spec.modelName` and their name's prefix."""

TaskType = Literal["classification", "regression", "ranking", "anomaly_detection", "other"]
VersionState = Literal["pending", "verifying", "ready", "stalled", "missing", "unknown"]


class ModelCreate(InputSchema):
    name: str = Field(min_length=1, max_length=50, pattern=MODEL_NAME_PATTERN)
    description: str = Field(default="", max_length=2000)
    project_id: uuid.UUID | None = None
    task_type: TaskType = "other"
    tags: dict[str, str] = Field(default_factory=dict, max_length=50)


class ModelUpdate(InputSchema):
    """Fields to change; absent or null fields stay as they are. The name is permanent (it
    names the ModelVersions in the cluster)."""

    description: str | None = Field(default=None, max_length=2000)
    project_id: uuid.UUID | None = None
    task_type: TaskType | None = None
    tags: dict[str, str] | None = Field(default=None, max_length=50)


class ModelPublic(OutputSchema):
    id: uuid.UUID
    organization_id: uuid.UUID
    project_id: uuid.UUID | None
    name: str
    description: str
    task_type: str
    tags: dict[str, str]
    latest_version: int | None
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None


class VersionOptions(InputSchema):
    """The JSON fields of an upload form (all optional)."""

    description: str = Field(default="", max_length=2000)
    signature: Signature | None = None
    """Inputs and outputs; default: read from the graph."""
    features: list[Feature] | None = Field(default=None, max_length=512)
    """The feature schema drift monitoring compares (feature → input tensor and column)."""


class VersionFromRun(InputSchema):
    """A version copied from the ONNX model an MLflow run logged."""

    run_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    path: str = Field(default="model", min_length=1, max_length=500, pattern=r"^[A-Za-z0-9_./-]+$")
    """The model's folder in the run (`name` of `mlflow.onnx.log_model`, default `model`)."""
    description: str = Field(default="", max_length=2000)
    signature: Signature | None = None
    features: list[Feature] | None = Field(default=None, max_length=512)


class Condition(OutputSchema):
    type: str
    status: str
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None

    @classmethod
    def of(cls, c: dict[str, Any]) -> Condition:
        """From one entry of a custom resource's `status.conditions`."""
        return cls(
            type=str(c.get("type")),
            status=str(c.get("status")),
            reason=c.get("reason"),
            message=c.get("message"),
            last_transition_time=c.get("lastTransitionTime"),
        )


class ClusterEvent(OutputSchema):
    type: str | None
    reason: str | None
    message: str | None
    count: int | None
    last_timestamp: datetime | None

    @classmethod
    def of(cls, e: dict[str, Any]) -> ClusterEvent:
        """From a Kubernetes Event as the gateway returns it."""
        return cls(
            type=e.get("type"),
            reason=e.get("reason"),
            message=e.get("message"),
            count=e.get("count"),
            last_timestamp=e.get("last_timestamp") or e.get("event_time"),
        )


class ReferencePublic(OutputSchema):
    uri: str
    sha256: str
    format: str


class VersionPublic(OutputSchema):
    id: uuid.UUID
    organization_id: uuid.UUID
    model_id: uuid.UUID
    version: int
    resource_name: str
    """The ModelVersion's name in the organization's namespace (`kubectl get mv <name>`)."""
    namespace: str
    description: str
    source: str
    mlflow_run_id: str | None
    provenance: dict[str, Any] = Field(
        default_factory=dict,
        description="The ModelVersion's `spec.provenance`: for a version copied from a run, "
        "its run id, experiment id and metrics at registration",
    )
    mlflow_version: str | None
    """The version in the organization's MLflow Model Registry (model name = this model's);
    null until mirrored."""
    mlflow_error: str | None = None
    """Why MLflow has not taken the version yet (an outage, or a refusal); null once mirrored."""
    artifact_uri: str
    sha256: str
    size_bytes: int
    signature: dict[str, Any]
    features: list[dict[str, Any]]
    reference_dataset: ReferencePublic | None
    state: VersionState
    reason: str | None
    """The operator's reason for the state (`Verified`, `DigestMismatch`, …)."""
    message: str | None
    conditions: list[Condition]
    used_by: list[str]
    """ModelDeployments that serve this version."""
    created_at: datetime
    created_by: uuid.UUID | None


class VersionDetail(VersionPublic):
    events: list[ClusterEvent]
    """The Kubernetes Events about the ModelVersion, oldest first."""
