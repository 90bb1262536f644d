"""Rules for drift monitors: the DriftMonitor in the cluster is the only record (like a
`kubectl apply`), written by server-side apply; its results are read from its status. The
deployment must exist in the organization's namespace (a clear 404 instead of a monitor that
waits for nothing); a GitOps-managed organization is read-only."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import (
    DRIFT_MONITOR,
    FIELD_MANAGER,
    MODEL_DEPLOYMENT,
    ClusterGateway,
    apply_unless_changed,
)
from modelplane_api.errors import AlreadyExists, ClusterRejected, Conflict, NotFound
from modelplane_api.monitors.schemas import MonitorCreate, MonitorPublic, MonitorUpdate
from modelplane_api.registry.service import organization_namespace, writable_namespace
from modelplane_crds import labels
from modelplane_crds.base import ObjectMeta
from modelplane_crds.drift_monitor import DriftMonitor, DriftMonitorSpec, DriftMonitorStatus


def _public(obj: dict[str, Any]) -> MonitorPublic:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    status = obj.get("status") or {}
    conditions = [dict(c) for c in status.get("conditions") or [] if isinstance(c, dict)]
    by_type = {c.get("type"): c for c in conditions}
    state: str = "pending"
    reason: str | None = None
    message: str | None = "the operator has not reconciled it yet"
    for type_, name in (("Stalled", "stalled"), ("Ready", "ready"), ("Reconciling", "reconciling")):
        found = by_type.get(type_)
        if found and found.get("status") == "True":
            state, reason, message = name, found.get("reason"), found.get("message")
            break
    return MonitorPublic(
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace")),
        deployment=str((spec.get("deploymentRef") or {}).get("name")),
        spec=spec,
        generation=meta.get("generation"),
        state=state,
        reason=reason,
        message=message,
        conditions=conditions,
        last_evaluation=status.get("lastEvaluation"),
        last_schedule_time=status.get("lastScheduleTime"),
        last_quality=status.get("lastQuality"),
        candidate_evaluation=status.get("candidateEvaluation"),
        **_history(status),
    )


def _history(status: dict[str, Any]) -> dict[str, Any]:
    """The status parts the operator keeps beside the last evaluation, read through the CRD's
    own model (camelCase on the wire) so their shapes cannot drift apart."""
    parsed = DriftMonitorStatus.model_validate(
        {
            key: status[key]
            for key in ("evaluatedVersion", "recentEvaluations", "lastFailure", "alerts")
            if key in status
        }
    )
    return {
        "evaluated_version": parsed.evaluated_version,
        "recent_evaluations": [s.model_dump() for s in parsed.recent_evaluations],
        "last_failure": parsed.last_failure.model_dump() if parsed.last_failure else None,
        "alerts": [a.model_dump() for a in parsed.alerts],
    }


async def list_monitors(
    session: AsyncSession, gateway: ClusterGateway, organization_id: uuid.UUID
) -> list[MonitorPublic]:
    """Every DriftMonitor of the organization."""
    namespace = await organization_namespace(session, organization_id)
    found = await gateway.list_objects(DRIFT_MONITOR, namespace)
    return sorted((_public(obj) for obj in found), key=lambda m: m.name)


async def get_monitor(
    session: AsyncSession, gateway: ClusterGateway, organization_id: uuid.UUID, name: str
) -> MonitorPublic:
    """One DriftMonitor with its latest results."""
    namespace = await organization_namespace(session, organization_id)
    found = await gateway.get(DRIFT_MONITOR, name, namespace)
    if found is None:
        raise NotFound("monitor not found")
    return _public(found)


async def create_monitor(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    data: MonitorCreate,
    audit: AuditContext,
) -> MonitorPublic:
    """Apply a DriftMonitor for one of the organization's deployments."""
    namespace = await writable_namespace(session, gateway, organization_id)
    await _deployment_or_404(gateway, data.spec, namespace)
    if await gateway.get(DRIFT_MONITOR, data.name, namespace) is not None:
        raise AlreadyExists(f"monitor {data.name!r} exists")
    body = _body(data.name, namespace, data.spec)
    applied = await gateway.apply(DRIFT_MONITOR, body)
    audit.resource_id = data.name
    deployment = data.spec.deployment_ref.name
    audit.after = {"name": data.name, "deployment": deployment, "spec": body["spec"]}
    return _public(applied)


async def update_monitor(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    name: str,
    data: MonitorUpdate,
    audit: AuditContext,
) -> MonitorPublic:
    """Replace a DriftMonitor's spec (server-side apply of the whole spec with the facade's
    field manager: what it set before and leaves out now is removed); its status stays. With
    `data.generation`, a spec changed since that generation is not overwritten (409); without
    it, one changed between this read and the write is not either."""
    namespace = await writable_namespace(session, gateway, organization_id)
    found = await gateway.get(DRIFT_MONITOR, name, namespace)
    if found is None:
        raise NotFound("monitor not found")
    current = (found.get("metadata") or {}).get("generation")
    if data.generation is not None and current != data.generation:
        raise _changed(name, data.generation, current)
    await _deployment_or_404(gateway, data.spec, namespace)
    try:
        applied = await apply_unless_changed(
            gateway,
            DRIFT_MONITOR,
            found,
            lambda resource_version: _body(name, namespace, data.spec, resource_version),
        )
    except ClusterRejected as exc:
        if exc.status_code != 409:
            raise
        raise _changed(name, data.generation or current, None) from exc
    audit.resource_id = name
    audit.before, audit.after = {"spec": found.get("spec")}, {"spec": applied.get("spec")}
    return _public(applied)


def _changed(name: str, read: int | None, current: int | None) -> Conflict:
    """409 for an edit made over an older spec than the cluster's."""
    return Conflict(
        f"monitor {name!r} was changed by someone else since it was read: reload it and make "
        "the change again",
        {"reason": "MonitorChanged", "read_generation": read, "current_generation": current},
    )


async def _deployment_or_404(
    gateway: ClusterGateway, spec: DriftMonitorSpec, namespace: str
) -> None:
    deployment = spec.deployment_ref.name
    if await gateway.get(MODEL_DEPLOYMENT, deployment, namespace) is None:
        raise NotFound(f"deployment {deployment!r} not found")


def _body(
    name: str, namespace: str, spec: DriftMonitorSpec, resource_version: str | None = None
) -> dict[str, Any]:
    resource = DriftMonitor(
        metadata=ObjectMeta(
            name=name,
            namespace=namespace,
            labels={labels.APP_MANAGED_BY: FIELD_MANAGER},
            resource_version=resource_version,
        ),
        spec=spec,
    )
    return resource.model_dump(by_alias=True, exclude_none=True, mode="json")


async def delete_monitor(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    name: str,
    audit: AuditContext,
) -> None:
    """Delete a DriftMonitor (its jobs and alerts go with it)."""
    namespace = await writable_namespace(session, gateway, organization_id)
    found = await gateway.get(DRIFT_MONITOR, name, namespace)
    if found is None:
        raise NotFound("monitor not found")
    audit.resource_id, audit.before = name, {"spec": found.get("spec")}
    await gateway.delete(DRIFT_MONITOR, name, namespace)
