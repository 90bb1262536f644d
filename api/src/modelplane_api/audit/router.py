"""Route of `/api/v1/audit-events` (organization admins only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from modelplane_api.audit import service
from modelplane_api.audit.schemas import AuditEventPublic, Outcome
from modelplane_api.deps import AuditReadAccess, SessionDep, known_filters
from modelplane_api.envelope import ERROR_RESPONSES, CursorEnvelope, cursor_page
from modelplane_api.pagination import MAX_LIMIT

router = APIRouter(prefix="/audit-events", tags=["audit"], responses=ERROR_RESPONSES)
FILTERS = ("action", "actor_id", "outcome", "resource_type", "resource_id")


@router.get("", operation_id="list_audit_events")
async def list_audit_events(
    session: SessionDep,
    access: AuditReadAccess,
    _: Annotated[None, known_filters(*FILTERS)],
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    action: Annotated[str | None, Query(alias="filter[action]", max_length=64)] = None,
    actor_id: Annotated[uuid.UUID | None, Query(alias="filter[actor_id]")] = None,
    outcome: Annotated[Outcome | None, Query(alias="filter[outcome]")] = None,
    resource_type: Annotated[
        str | None, Query(alias="filter[resource_type]", max_length=64)
    ] = None,
    resource_id: Annotated[str | None, Query(alias="filter[resource_id]", max_length=64)] = None,
) -> CursorEnvelope[AuditEventPublic]:
    """Audit events of an organization, newest first, by cursor."""
    filters: dict[str, object] = {
        name: value
        for name, value in {
            "action": action,
            "actor_id": actor_id,
            "outcome": outcome,
            "resource_type": resource_type,
            "resource_id": resource_id,
        }.items()
        if value is not None
    }
    events, next_cursor = await service.list_events(
        session, access.organization_id, limit=limit, cursor=cursor, filters=filters
    )
    return cursor_page(events, limit=limit, next_cursor=next_cursor)
