"""Applies what the outbox holds, with retries, until the cluster takes it.

`drain_once` takes the due entries (row-locked, SKIP LOCKED), applies each, deletes the applied
ones and pushes the others back with exponential backoff (2 s doubling to 5 min). A write the
cluster refuses for good (validation, a webhook, RBAC) keeps its error for the API to show and
is retried only hourly. `run_forever` is the loop the app's lifespan starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from modelplane_api.cluster import KINDS_BY_PLURAL
from modelplane_api.context import AppContext
from modelplane_api.errors import ClusterRejected, ClusterUnavailable
from modelplane_api.outbox import repository

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
        for entry in entries:
            try:
                await ctx.gateway.apply(KINDS_BY_PLURAL[entry.plural], entry.body)
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
