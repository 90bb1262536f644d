"""Fixed-window rate limits in Redis: one INCR + EXPIRE round trip per check.

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
        stamp = time.time() if now is None else now
        window = int(stamp // rule.window_seconds)
        redis_key = f"mp:rl:{rule.bucket}:{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(redis_key)
                pipe.expire(redis_key, rule.window_seconds + 1, nx=True)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            if rule.fail_closed:
                self._metrics.rate_limit_errors.labels(rule.bucket, "refused").inc()
                log.warning(
                    "rate limiter unavailable, refusing %s request",
                    rule.bucket,
                    extra={"bucket": rule.bucket, "error": type(exc).__name__},
                )
                raise ServiceUnavailable("rate limiter unavailable, try again later") from exc
            self._metrics.rate_limit_errors.labels(rule.bucket, "allowed").inc()
            log.warning(
                "rate limiter unavailable, allowing %s request",
                rule.bucket,
                extra={"bucket": rule.bucket, "error": type(exc).__name__},
            )
            return
        if int(count) > rule.limit:
            self._metrics.rate_limited.labels(rule.bucket).inc()
            retry_after = max(1, int((window + 1) * rule.window_seconds - stamp) + 1)
            raise RateLimited(retry_after)
