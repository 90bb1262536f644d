"""Routes of `/api/v1/organizations/{org_id}/monitors`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from modelplane_api.audit.recorder import audited
from modelplane_api.deps import Audit, Ctx, OrgAccess, SessionDep, require
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, ok
from modelplane_api.monitors import service
from modelplane_api.monitors.schemas import (
    NAME_PATTERN,
    MonitorCreate,
    MonitorPublic,
    MonitorUpdate,
)
from modelplane_api.permissions import Permission

router = APIRouter(
    prefix="/organizations/{org_id}/monitors", tags=["monitors"], responses=ERROR_RESPONSES
)
MonitorName = Annotated[str, Path(min_length=1, max_length=63, pattern=NAME_PATTERN)]


@router.get("", operation_id="list_monitors")
async def list_monitors(
    session: SessionDep,
    ctx: Ctx,
    access: Annotated[OrgAccess, require(Permission.MONITOR_READ)],
) -> Envelope[list[MonitorPublic]]:
    """The organization's drift monitors with their latest results."""
    return ok(await service.list_monitors(session, access.cluster(ctx), access.organization_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_monitor",
    openapi_extra=audited("monitor.create", "drift_monitor"),
)
async def create_monitor(
    body: MonitorCreate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: Annotated[OrgAccess, require(Permission.MONITOR_CREATE)],
) -> Envelope[MonitorPublic]:
    """Watch a deployment's logged traffic for drift (a DriftMonitor)."""
    return ok(
        await service.create_monitor(
            session, access.cluster(ctx), access.organization_id, body, audit
        )
    )


@router.get("/{name}", operation_id="get_monitor")
async def get_monitor(
    name: MonitorName,
    session: SessionDep,
    ctx: Ctx,
    access: Annotated[OrgAccess, require(Permission.MONITOR_READ)],
) -> Envelope[MonitorPublic]:
    """One monitor: state, conditions and its latest per-feature results."""
    return ok(await service.get_monitor(session, access.cluster(ctx), access.organization_id, name))


@router.put(
    "/{name}",
    operation_id="update_monitor",
    openapi_extra=audited("monitor.update", "drift_monitor"),
)
async def update_monitor(
    name: MonitorName,
    body: MonitorUpdate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: Annotated[OrgAccess, require(Permission.MONITOR_UPDATE)],
) -> Envelope[MonitorPublic]:
    """Replace a monitor's spec (schedule, window, features, reference, alerts, …); its results
    stay."""
    return ok(
        await service.update_monitor(
            session, access.cluster(ctx), access.organization_id, name, body, audit
        )
    )


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_monitor",
    openapi_extra=audited("monitor.delete", "drift_monitor"),
)
async def delete_monitor(
    name: MonitorName,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: Annotated[OrgAccess, require(Permission.MONITOR_DELETE)],
) -> None:
    """Delete a monitor."""
    await service.delete_monitor(session, access.cluster(ctx), access.organization_id, name, audit)
