"""Pure builders and readers of the ModelVersions the registry applies (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelplane_api.cluster import FIELD_MANAGER
from modelplane_crds import labels
from modelplane_crds.base import ObjectMeta
from modelplane_crds.model_version import ModelVersion, ModelVersionSpec

VERSION_ID_ANNOTATION = "modelplane.io/version-id"
"""On a ModelVersion the facade applied: the id of its version row."""


def namespace_of(slug: str) -> str:
    """The namespace of an organization (the operator's `mp-<slug>`)."""
    return f"mp-{slug}"


def slug_of(namespace: str) -> str:
    """The organization (its Organization's name) whose namespace this is."""
    return namespace.removeprefix("mp-")


def resource_name(model_name: str, version: int) -> str:
    """`<model>-v<version>`: at most 50 + 2 + 10 characters, a DNS label."""
    return f"{model_name}-v{version}"


def build_model_version(
    name: str, namespace: str, version_id: str, spec: ModelVersionSpec
) -> dict[str, Any]:
    """The ModelVersion the facade applies for a version row."""
    resource = ModelVersion(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            labels={labels.MODEL: spec.model_name, labels.APP_MANAGED_BY: FIELD_MANAGER},
            annotations={VERSION_ID_ANNOTATION: version_id},
        ),
        spec=spec,
    )
    return resource.model_dump(by_alias=True, exclude_none=True, mode="json")


@dataclass(frozen=True)
class ObservedState:
    """What the cluster says about one ModelVersion."""

    state: str
    reason: str | None = None
    message: str | None = None
    conditions: list[dict[str, Any]] = field(default_factory=list)
    used_by: list[str] = field(default_factory=list)


PENDING = ObservedState("pending", "ClusterUnavailable", "waiting for the cluster to accept it")


def waiting(last_error: str | None) -> ObservedState:
    """The state of a version whose ModelVersion waits in the outbox (with its last error)."""
    return ObservedState("pending", PENDING.reason, last_error or PENDING.message)


UNKNOWN = ObservedState("unknown", "ClusterUnavailable", "the cluster did not answer")
MISSING = ObservedState(
    "missing", "NotFound", "the ModelVersion is not in the cluster; the facade re-applies it"
)


def observe(obj: dict[str, Any] | None) -> ObservedState:
    """The registry's view of a ModelVersion object (None: absent)."""
    if obj is None:
        return MISSING
    status = obj.get("status") or {}
    conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, dict)]
    by_type = {c.get("type"): c for c in conditions}
    used_by = [str(u) for u in status.get("usedBy") or []]
    current = status.get("observedGeneration") == (obj.get("metadata") or {}).get("generation")
    for type_, state in (("Stalled", "stalled"), ("Ready", "ready")):
        found = by_type.get(type_)
        if current and found and found.get("status") == "True":
            return ObservedState(
                state, found.get("reason"), found.get("message"), conditions, used_by
            )
    reconciling = by_type.get("Reconciling") or {}
    return ObservedState(
        "verifying",
        reconciling.get("reason") or "Verifying",
        reconciling.get("message") or "the operator has not verified it yet",
        conditions,
        used_by,
    )


def spec_differs(obj: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Whether the object is not the version the database holds: another model, version,
    artifact or digest (fields the webhooks default are not compared)."""
    live = obj.get("spec") or {}
    live_artifact, artifact = live.get("artifact") or {}, spec.get("artifact") or {}
    return (
        live.get("modelName") != spec.get("modelName")
        or live.get("version") != spec.get("version")
        or live_artifact.get("uri") != artifact.get("uri")
        or live_artifact.get("sha256") != artifact.get("sha256")
    )
