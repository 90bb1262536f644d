"""Reads of the audit log (writes go through `recorder.py`). Keyset pagination, newest first."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.models import AuditEvent


async def list_after(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    filters: dict[str, object],
) -> list[AuditEvent]:
    """Up to `limit` events of an organization older than the cursor position."""
    query = select(AuditEvent).where(AuditEvent.organization_id == organization_id)
    for column, value in filters.items():
        query = query.where(getattr(AuditEvent, column) == value)
    if after is not None:
        stamp, event_id = after
        query = query.where(
            or_(
                AuditEvent.created_at < stamp,
                and_(AuditEvent.created_at == stamp, AuditEvent.id < event_id),
            )
        )
    query = query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(await session.scalars(query))
