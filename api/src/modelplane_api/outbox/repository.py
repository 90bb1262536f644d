"""Queries on the cluster outbox. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.auth.models import ApiKey
from modelplane_api.organizations import repository as org_repo
from modelplane_api.outbox.models import OutboxEntry


async def enqueue(
    session: AsyncSession,
    organization_id: uuid.UUID,
    plural: str,
    body: dict[str, Any],
    caller: dict[str, Any] | None = None,
) -> None:
    """Store (or replace) the pending apply of one object, due now, to be applied as `caller`
    (`ClusterCaller.to_wire`; None: as the facade)."""
    meta = body["metadata"]
    statement = insert(OutboxEntry).values(
        id=uuid.uuid4(),
        organization_id=organization_id,
        plural=plural,
        namespace=meta["namespace"],
        name=meta["name"],
        body=body,
        caller=caller,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["plural", "namespace", "name"],
            set_={
                "body": statement.excluded.body,
                "caller": statement.excluded.caller,
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": func.now(),
            },
        )
    )


async def remove(session: AsyncSession, plural: str, namespace: str, name: str) -> None:
    """Forget the pending apply of one object (it was applied)."""
    await session.execute(
        delete(OutboxEntry).where(
            OutboxEntry.plural == plural,
            OutboxEntry.namespace == namespace,
            OutboxEntry.name == name,
        )
    )


async def record_failure(
    session: AsyncSession, plural: str, namespace: str, name: str, error: str
) -> None:
    """Keep why the last attempt to apply one object failed (the API shows it)."""
    await session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.plural == plural,
            OutboxEntry.namespace == namespace,
            OutboxEntry.name == name,
        )
        .values(attempts=OutboxEntry.attempts + 1, last_error=error[:2000])
    )


async def due(session: AsyncSession, now: datetime, limit: int) -> list[OutboxEntry]:
    """Entries whose next attempt is due, locked for this transaction; rows another replica
    holds are skipped, so two facades never apply the same entry at once."""
    rows = await session.scalars(
        select(OutboxEntry)
        .where(OutboxEntry.next_attempt_at <= now)
        .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def pending(
    session: AsyncSession, plural: str, objects: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], OutboxEntry]:
    """The pending entries among (namespace, name) pairs of one kind."""
    if not objects:
        return {}
    rows = await session.scalars(
        select(OutboxEntry).where(
            OutboxEntry.plural == plural,
            tuple_(OutboxEntry.namespace, OutboxEntry.name).in_(list(objects)),
        )
    )
    return {(row.namespace, row.name): row for row in rows}


async def count(session: AsyncSession) -> int:
    """How many entries wait."""
    return int(await session.scalar(select(func.count()).select_from(OutboxEntry)) or 0)


async def current_role(
    session: AsyncSession,
    organization_id: uuid.UUID,
    kind: Literal["user", "api-key"],
    principal_id: uuid.UUID,
    now: datetime,
) -> str | None:
    """The role a user or API key holds in the organization today; None when it holds none
    (removed, deactivated, deleted, expired)."""
    if kind == "user":
        membership = await org_repo.get_membership(session, organization_id, principal_id)
        return membership.role if membership is not None else None
    key = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == principal_id,
            ApiKey.organization_id == organization_id,
            ApiKey.deleted_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    )
    return key.role if key is not None else None
