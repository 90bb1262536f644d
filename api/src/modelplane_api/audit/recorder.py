"""Writes the one audit event of each mutating request.

Every mutating route declares its action with `audited("project.create", "project")`, stored in
the route's OpenAPI extension `x-audit`. Services fill the request's `AuditContext` (organization,
resource id, before/after). On success the session dependency adds the event to the request's own
transaction just before COMMIT, so the change and its record land together or not at all. On
failure the transaction is rolled back and the error path records one `denied` / `failure` event
in a fresh transaction. 429 answers are counted in metrics, not audited, so a flood cannot fill
the log.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from modelplane_api.audit.models import AuditEvent
from modelplane_api.envelope import request_id_var

log = logging.getLogger("modelplane_api.audit")
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def audited(action: str, resource_type: str) -> dict[str, Any]:
    """`openapi_extra` for a mutating route: the action its audit event records."""
    return {"x-audit": {"action": action, "resource_type": resource_type}}


def dynamic_audit(rule: str) -> dict[str, Any]:
    """`openapi_extra` for a route whose calls each pick their action (the MLflow proxy: runs
    created and deleted are audited, single metrics are not): the handler sets
    `AuditContext.action`, and a call that sets none records nothing. `rule` says where the
    choice is made."""
    return {"x-audit": {"dynamic": rule}}


def unaudited(reason: str) -> dict[str, Any]:
    """`openapi_extra` for a POST that changes nothing (inference): no audit event, and why."""
    return {"x-audit": {"exempt": reason}}


@dataclass
class AuditContext:
    """What the services learned about the request, for its audit event."""

    organization_id: uuid.UUID | None = None
    actor_type: str = "anonymous"
    actor_id: uuid.UUID | None = None
    resource_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    status_code: int | None = None
    """The success status when the route answers another than its declared one (202)."""
    written: bool = False
    action: tuple[str, str] | None = None
    """(action, resource_type) chosen by the handler of a `dynamic_audit` route."""


def audit_context(conn: HTTPConnection) -> AuditContext:
    """The request's audit context, created on first use."""
    ctx = getattr(conn.state, "audit", None)
    if ctx is None:
        ctx = AuditContext()
        conn.state.audit = ctx
    return ctx


def route_action(conn: HTTPConnection) -> tuple[str, str] | None:
    """(action, resource_type) of the matched route, when it is an audited mutating route."""
    if conn.scope.get("method") not in MUTATING_METHODS:
        return None
    extra = getattr(conn.scope.get("route"), "openapi_extra", None) or {}
    spec = extra.get("x-audit")
    if spec and "dynamic" in spec:
        return audit_context(conn).action
    return (spec["action"], spec["resource_type"]) if spec and "action" in spec else None


def build_event(
    conn: HTTPConnection, *, outcome: str, status_code: int, error_code: str | None = None
) -> AuditEvent | None:
    """The audit event for this request, or None when the route is not audited or already was."""
    action = route_action(conn)
    ctx = audit_context(conn)
    if action is None or ctx.written:
        return None
    ctx.written = True
    client = conn.client.host if conn.client else None
    return AuditEvent(
        id=uuid.uuid4(),
        organization_id=ctx.organization_id,
        actor_type=ctx.actor_type,
        actor_id=ctx.actor_id,
        action=action[0],
        resource_type=action[1],
        resource_id=ctx.resource_id,
        outcome=outcome,
        status_code=status_code,
        error_code=error_code,
        request_id=request_id_var.get(),
        ip=client,
        user_agent=(conn.headers.get("user-agent") or "")[:512] or None,
        before=ctx.before,
        after=ctx.after,
    )


def add_success_event(conn: HTTPConnection, session: AsyncSession, status_code: int) -> bool:
    """Add the success event to the request's transaction; False when nothing to record."""
    event = build_event(conn, outcome="success", status_code=status_code)
    if event is None:
        return False
    session.add(event)
    return True


def outcome_for(status_code: int) -> str:
    """`denied` for 401/403, `failure` for everything else that went wrong."""
    return "denied" if status_code in (401, 403) else "failure"


async def record_failure(
    conn: HTTPConnection,
    sessions: async_sessionmaker[AsyncSession],
    status_code: int,
    error_code: str,
) -> bool:
    """Record a failed mutating request in its own transaction (best effort, logged)."""
    if status_code == 429:
        return False
    event = build_event(
        conn, outcome=outcome_for(status_code), status_code=status_code, error_code=error_code
    )
    if event is None:
        return False
    event.before, event.after = None, None
    return await _write_alone(sessions, event)


async def _write_alone(sessions: async_sessionmaker[AsyncSession], event: AuditEvent) -> bool:
    """Write one event in a transaction of its own (best effort, logged)."""
    try:
        async with sessions() as session:
            session.add(event)
            await session.commit()
    except Exception:
        log.exception("could not write the audit event %s (%s)", event.action, event.outcome)
        return False
    return True


async def record_outcome(
    conn: HTTPConnection,
    sessions: async_sessionmaker[AsyncSession],
    status_code: int,
    error_code: str | None,
) -> bool:
    """Record the event of a request that holds no transaction of its own (a proxied call whose
    answer came from elsewhere): success below 400, otherwise as `record_failure`."""
    if status_code >= 400:
        return await record_failure(conn, sessions, status_code, error_code or "error")
    event = build_event(conn, outcome="success", status_code=status_code)
    return event is not None and await _write_alone(sessions, event)
