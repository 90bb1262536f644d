"""Liveness, readiness and metrics: outside `/api/v1`, not rate limited, not authenticated."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from modelplane_api.context import AppContext
from modelplane_api.envelope import Envelope, ErrorEnvelope, error_body, ok

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 2.0


class HealthPublic(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessPublic(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]


@router.get("/health", operation_id="health")
async def health() -> Envelope[HealthPublic]:
    """The process is up."""
    return ok(HealthPublic())


async def _check_postgres(ctx: AppContext) -> None:
    async with ctx.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _check_redis(ctx: AppContext) -> None:
    await ctx.redis.ping()


@router.get(
    "/ready",
    operation_id="ready",
    responses={503: {"model": ErrorEnvelope, "description": "A dependency is down"}},
    response_model=Envelope[ReadinessPublic],
)
async def ready(request: Request) -> Response | Envelope[ReadinessPublic]:
    """PostgreSQL and Redis answer."""
    ctx: AppContext = request.app.state.ctx
    checks: dict[str, str] = {}
    for name, check in (("postgres", _check_postgres), ("redis", _check_redis)):
        try:
            await asyncio.wait_for(check(ctx), CHECK_TIMEOUT_SECONDS)
            checks[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the reason goes in details
            checks[name] = f"error: {type(exc).__name__}"
    if any(value != "ok" for value in checks.values()):
        return JSONResponse(
            error_body("not_ready", "a dependency is unavailable", checks), status_code=503
        )
    return ok(ReadinessPublic(checks=checks))


@router.get("/metrics", operation_id="metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus exposition of this app's metrics."""
    ctx: AppContext = request.app.state.ctx
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
