"""Rate limits in Redis: 429 with Retry-After; Redis down → reads go on, auth refuses (503)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from redis.asyncio import Redis

from modelplane_api.errors import RateLimited, ServiceUnavailable
from modelplane_api.ratelimit import Limit, RateLimiter

from .conftest import PASSWORD, Api, ApiFactory

DEAD_REDIS = "redis://127.0.0.1:1/0"


def random_ip() -> str:
    return "10.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))


async def test_login_attempts_beyond_the_auth_budget_get_429(make_api: ApiFactory) -> None:
    api: Api = await make_api(client_ip=random_ip(), rate_limit_auth_per_ip=3)
    body = {"email": "nobody@example.com", "password": "wrong"}
    answers = [(await api.client.post("/api/v1/auth/login", json=body)) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [401, 401, 401, 429]
    limited = answers[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 61


async def test_guessing_one_account_from_many_addresses_gets_429(make_api: ApiFactory) -> None:
    first: Api = await make_api(client_ip=random_ip(), rate_limit_login_per_account=2)
    second: Api = await make_api(client_ip=random_ip(), rate_limit_login_per_account=2)
    user = await first.register("target")  # one login: one of the account's two attempts
    body = {"email": user["email"], "password": "wrong password"}
    assert (await second.client.post("/api/v1/auth/login", json=body)).status_code == 401
    limited = await second.client.post("/api/v1/auth/login", json=body)
    assert limited.status_code == 429
    assert "retry-after" in limited.headers


async def test_a_principal_beyond_its_budget_gets_429(make_api: ApiFactory) -> None:
    api: Api = await make_api(client_ip=random_ip(), rate_limit_per_user=3)
    user = await api.register("busy")
    answers = [(await api.client.get("/api/v1/auth/me", headers=user["headers"])) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert "retry-after" in answers[-1].headers


async def test_an_ip_beyond_its_budget_gets_429_on_any_api_route(make_api: ApiFactory) -> None:
    api: Api = await make_api(client_ip=random_ip(), rate_limit_per_ip=2)
    answers = [(await api.client.get("/api/v1/auth/me")) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 429]


async def _signed_in_user_on_dead_redis(make_api: ApiFactory) -> tuple[Api, dict[str, Any]]:
    healthy: Api = await make_api()
    user = await healthy.register("resilient")
    keys = [key.model_dump() for key in healthy.settings.jwt_keys]
    broken: Api = await make_api(redis_url=DEAD_REDIS, jwt_keys=keys, redis_timeout_seconds=0.2)
    return broken, user


async def test_without_redis_signed_in_requests_still_work(make_api: ApiFactory) -> None:
    broken, user = await _signed_in_user_on_dead_redis(make_api)
    response = await broken.client.get("/api/v1/auth/me", headers=user["headers"])
    assert response.status_code == 200
    metrics = (await broken.client.get("/metrics")).text
    assert (
        'modelplane_api_rate_limit_backend_errors_total{bucket="principal",decision="allowed"}'
        in metrics
    )


async def test_without_redis_login_is_refused_with_503(make_api: ApiFactory) -> None:
    broken, user = await _signed_in_user_on_dead_redis(make_api)
    response = await broken.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_ready_reports_a_dead_redis(make_api: ApiFactory) -> None:
    broken, _ = await _signed_in_user_on_dead_redis(make_api)
    response = await broken.client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "not_ready"
    assert body["error"]["details"]["postgres"] == "ok"
    assert body["error"]["details"]["redis"].startswith("error")


async def test_budgets_counted_together_are_each_counted_and_the_longest_wait_is_given(
    api: Api,
) -> None:
    limiter = api.app.state.ctx.rate_limiter
    redis = api.app.state.ctx.redis
    key = random_ip()
    minute, hour = Limit("t-minute", 1, 60), Limit("t-hour", 2, 3600)
    await limiter.hit_all((minute, key), (hour, key), now=7200.0)
    with pytest.raises(RateLimited) as refused:  # the minute's budget is spent, the hour's not
        await limiter.hit_all((minute, key), (hour, key), now=7210.0)
    assert refused.value.details == {"retry_after": 51}
    with pytest.raises(RateLimited) as refused:  # both spent: the hour's wait is the longer
        await limiter.hit_all((minute, key), (hour, key), now=7220.0)
    assert refused.value.details == {"retry_after": 3581}
    assert int(await redis.get(f"mp:rl:t-minute:{key}:120")) == 3
    assert int(await redis.get(f"mp:rl:t-hour:{key}:2")) == 3
    assert 0 < await redis.ttl(f"mp:rl:t-hour:{key}:2") <= 3601


async def test_without_redis_budgets_counted_together_fail_closed_if_any_does(
    api: Api,
) -> None:
    ctx = api.app.state.ctx
    dead = RateLimiter(Redis.from_url(DEAD_REDIS, socket_connect_timeout=0.2), ctx.metrics)
    open_rule, closed_rule = Limit("t-open", 1, 60), Limit("t-closed", 1, 60, fail_closed=True)
    await dead.hit_all((open_rule, "k"), (open_rule, "k"))  # fails open: allowed, twice
    with pytest.raises(ServiceUnavailable):
        await dead.hit_all((open_rule, "k"), (closed_rule, "k"))
