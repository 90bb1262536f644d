"""Reading the audit log: opaque cursors over (created_at, id)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit import repository
from modelplane_api.audit.schemas import AuditEventPublic
from modelplane_api.errors import BadRequest


def encode_cursor(created_at: datetime, event_id: uuid.UUID) -> str:
    """An opaque cursor pointing just after one event."""
    raw = json.dumps([created_at.isoformat(), str(event_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor points to; 400 when it was not made by `encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, event_id = json.loads(raw)
        parsed = datetime.fromisoformat(stamp)
        if parsed.tzinfo is None:
            raise ValueError("naive timestamp")
        return parsed, uuid.UUID(event_id)
    except (ValueError, TypeError) as exc:
        raise BadRequest("invalid cursor") from exc


async def list_events(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
    filters: dict[str, object],
) -> tuple[list[AuditEventPublic], str | None]:
    """One page of events and the cursor of the next page (None at the end)."""
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.list_after(
        session, organization_id, limit=limit + 1, after=after, filters=filters
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return [AuditEventPublic.model_validate(row) for row in rows], next_cursor
