"""Fixed-window rate limits in Redis: one INCR + EXPIRE round trip per check (several buckets
counted together share one round trip: `hit_all`).

Buckets: every request per client IP, every authenticated request per principal, and a much
stricter bucket per IP for login, register and refresh. When Redis cannot be reached the
limiter fails OPEN for ordinary buckets (the request proceeds; a warning is logged and
`modelplane_api_rate_limit_backend_errors_total{decision="allowed"}` counts it) and fails CLOSED
for the auth bucket (503): password guessing must never become unlimited because Redis is down,
while reads and writes of signed-in users keep working.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from modelplane_api.errors import RateLimited, ServiceUnavailable
from modelplane_api.metrics import Metrics

log = logging.getLogger("modelplane_api.ratelimit")


@dataclass(frozen=True)
class Limit:
    bucket: str
    limit: int
    window_seconds: int
    fail_closed: bool = False


class RateLimiter:
    """Counts hits per bucket and key; raises RateLimited when a window is full."""

    def __init__(self, redis: Redis, metrics: Metrics) -> None:
        self._redis = redis
        self._metrics = metrics

    async def hit(self, rule: Limit, key: str, now: float | None = None) -> None:
        """Count one hit; raise RateLimited (429) or, for fail-closed rules, ServiceUnavailable."""
        await self.hit_all((rule, key), now=now)

    async def hit_all(self, *hits: tuple[Limit, str], now: float | None = None) -> None:
        """Count one hit in each bucket in one Redis round trip; 429 when any window is full
        (its `Retry-After` the longest wait). Every bucket is counted, full or not."""
        stamp = time.time() if now is None else now
        windows = [int(stamp // rule.window_seconds) for rule, _ in hits]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for (rule, key), window in zip(hits, windows, strict=True):
                    redis_key = f"mp:rl:{rule.bucket}:{key}:{window}"
                    pipe.incr(redis_key)
                    pipe.expire(redis_key, rule.window_seconds + 1, nx=True)
                counts = (await pipe.execute())[::2]
        except (RedisError, OSError) as exc:
            self._unavailable([rule for rule, _ in hits], exc)
            return
        waits = [
            max(1, int((window + 1) * rule.window_seconds - stamp) + 1)
            for (rule, _), window, count in zip(hits, windows, counts, strict=True)
            if int(count) > rule.limit
        ]
        for (rule, _), count in zip(hits, counts, strict=True):
            if int(count) > rule.limit:
                self._metrics.rate_limited.labels(rule.bucket).inc()
        if waits:
            raise RateLimited(max(waits))

    def _unavailable(self, rules: list[Limit], exc: BaseException) -> None:
        """Redis did not answer: 503 if any rule fails closed, else let the request through."""
        closed = [rule for rule in rules if rule.fail_closed]
        decision = "refused" if closed else "allowed"
        for rule in rules:
            self._metrics.rate_limit_errors.labels(rule.bucket, decision).inc()
            log.warning(
                "rate limiter unavailable, %s %s request",
                "refusing" if closed else "allowing",
                rule.bucket,
                extra={"bucket": rule.bucket, "error": type(exc).__name__},
            )
        if closed:
            raise ServiceUnavailable("rate limiter unavailable, try again later") from exc
