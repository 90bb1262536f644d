"""Applies what the outbox holds, with retries, until the cluster takes it.

`drain_once` takes the due entries (row-locked, SKIP LOCKED), applies each, deletes the applied
ones and pushes the others back with exponential backoff (2 s doubling to 5 min). A write the
cluster refuses for good (validation, a webhook, RBAC) keeps its error for the API to show and
is retried only hourly. Before applying, the organization's Organization is read again: an entry
of an organization that has since become GitOps-managed is never applied (it keeps why), and
when the cluster cannot say, the entry waits — the guard fails closed. An entry is applied as the
caller who asked for it (impersonated, docs/security.md), and only while that user or API key still
holds the same role in the organization: a member removed (or moved to another role) meanwhile
leaves the entry unapplied with why, never applied as the facade. `run_forever` is the loop the
app's lifespan starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.cluster import KINDS_BY_PLURAL, ORGANIZATION, ClusterCaller, ClusterGateway
from modelplane_api.context import AppContext
from modelplane_api.errors import ClusterRejected, ClusterUnavailable
from modelplane_api.organizations.resources import gitops_owner
from modelplane_api.outbox import repository
from modelplane_api.outbox.models import OutboxEntry
from modelplane_api.registry.resources import slug_of
from modelplane_crds.organization import parse_identity

log = logging.getLogger("modelplane_api.outbox")
BATCH = 50
MAX_BACKOFF = timedelta(minutes=5)
REJECTED_RETRY = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """Delay before attempt `attempts + 1`."""
    return min(timedelta(seconds=2 ** min(attempts, 12)), MAX_BACKOFF)


async def drain_once(ctx: AppContext) -> int:
    """Apply the due entries once; the number applied."""
    applied = 0
    async with ctx.sessions() as session:
        now = ctx.clock()
        entries = await repository.due(session, now, BATCH)
        owners: dict[str, str | None] = {}
        for entry in entries:
            try:
                owner = await _gitops_owner(ctx.gateway, slug_of(entry.namespace), owners)
                if owner is not None:
                    _refuse(entry, now, _gitops_reason(entry, owner))
                    continue
                caller = ClusterCaller.from_wire(entry.caller)
                if caller is not None and (why := await _caller_gone(session, entry, caller, now)):
                    _refuse(entry, now, why)
                    continue
                gateway = ctx.gateway.acting_as(caller)
                await gateway.apply(KINDS_BY_PLURAL[entry.plural], entry.body)
            except (ClusterRejected, ClusterUnavailable) as exc:
                rejected = isinstance(exc, ClusterRejected)
                entry.attempts += 1
                entry.last_error = exc.message[:2000]
                entry.next_attempt_at = now + (
                    REJECTED_RETRY if rejected else backoff(entry.attempts)
                )
                if rejected:
                    log.warning(
                        "the cluster refused a pending write",
                        extra={"object": f"{entry.namespace}/{entry.name}", "error": exc.message},
                    )
                continue
            await session.delete(entry)
            applied += 1
        await session.commit()
        if entries:  # new entries are due at once, so the next pass counts them
            ctx.metrics.outbox_pending.set(await repository.count(session))
    if applied:
        ctx.metrics.outbox_applied.inc(applied)
    return applied


async def _gitops_owner(
    gateway: ClusterGateway, organization: str, seen: dict[str, str | None]
) -> str | None:
    """Who owns the organization in Git (asked once per pass); the guard fails closed: when
    the cluster cannot say, ClusterUnavailable keeps the entry waiting."""
    if organization not in seen:
        seen[organization] = gitops_owner(await gateway.get(ORGANIZATION, organization))
    return seen[organization]


async def _caller_gone(
    session: AsyncSession, entry: OutboxEntry, caller: ClusterCaller, now: datetime
) -> str | None:
    """Why the entry's caller may no longer have it applied; None while they hold its role."""
    principal = parse_identity(caller.user)
    role = None
    if principal is not None:
        kind, principal_id = principal
        role = await repository.current_role(
            session, entry.organization_id, kind, principal_id, now
        )
    if role == caller.role:
        return None
    now_holds = f"now {role}" if role else "no longer a member"
    return (
        f"not applied: {caller.user} asked for it as {caller.role} of organization "
        f"{slug_of(entry.namespace)!r} and is {now_holds}; it is never applied as the facade"
    )


def _gitops_reason(entry: OutboxEntry, owner: str) -> str:
    return (
        f"not applied: organization {slug_of(entry.namespace)!r} is now managed by {owner}; "
        "the facade does not write into it"
    )


def _refuse(entry: OutboxEntry, now: datetime, why: str) -> None:
    """Keep an entry the facade may no longer apply, with why (the API shows it)."""
    entry.attempts += 1
    entry.last_error = why
    entry.next_attempt_at = now + REJECTED_RETRY
    log.warning(
        "a pending write was not applied",
        extra={"object": f"{entry.namespace}/{entry.name}", "error": why},
    )


async def run_forever(
    name: str, step: Callable[[], Awaitable[object]], interval_seconds: float
) -> None:
    """Call `step` every interval until cancelled; an error is logged, never fatal."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task %s failed; retrying", name)
        await asyncio.sleep(interval_seconds)
