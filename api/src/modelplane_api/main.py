"""The application factory: `create_app(settings)` wires every collaborator explicitly.

Nothing is created at import time; each app owns its engine, Redis client, key ring, metrics
registry and cluster gateway, and closes them on shutdown. Errors of every kind leave as the
envelope: domain errors through one handler, router 404/405 and 422 validation errors reshaped,
and anything unexpected as a 500 from the middleware without a stack trace.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import iter_route_contexts
from redis.asyncio import Redis
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from modelplane_api import __version__
from modelplane_api.api_keys.router import router as api_keys_router
from modelplane_api.audit.recorder import record_failure
from modelplane_api.audit.router import router as audit_router
from modelplane_api.auth.router import router as auth_router
from modelplane_api.cluster import ClusterGateway, KubernetesClusterGateway
from modelplane_api.context import AppContext, Clock, utc_now
from modelplane_api.db import create_engine, create_sessionmaker
from modelplane_api.deps import limit_by_ip
from modelplane_api.envelope import error_body
from modelplane_api.errors import ClusterUnavailable, DomainError
from modelplane_api.health.router import router as health_router
from modelplane_api.metrics import Metrics
from modelplane_api.middleware import RequestContextMiddleware
from modelplane_api.organizations.router import router as organizations_router
from modelplane_api.projects.router import router as projects_router
from modelplane_api.ratelimit import RateLimiter
from modelplane_api.responses import error_response
from modelplane_api.schemas import UNSTORABLE_TEXT
from modelplane_api.security import Passwords, TokenSigner
from modelplane_api.settings import Settings

API_PREFIX = "/api/v1"
HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class DisabledClusterGateway:
    """Used when `MODELPLANE_API_KUBERNETES_ENABLED=false`: every cluster write answers 503."""

    async def apply(self, kind: Any, body: dict[str, Any]) -> dict[str, Any]:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")

    async def get(self, kind: Any, name: str, namespace: str | None = None) -> None:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")

    async def delete(self, kind: Any, name: str, namespace: str | None = None) -> None:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")


def create_app(
    settings: Settings,
    *,
    gateway: ClusterGateway | None = None,
    clock: Clock = utc_now,
    passwords: Passwords | None = None,
) -> FastAPI:
    """Build the facade for `settings`; pass a gateway or clock to replace the real ones."""
    if gateway is None:
        gateway = (
            KubernetesClusterGateway.from_kubeconfig(settings.kubeconfig)
            if settings.kubernetes_enabled
            else DisabledClusterGateway()
        )
    engine = create_engine(settings)
    redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
    )
    metrics = Metrics()
    ctx = AppContext(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine),
        read_sessions=create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT")),
        redis=redis,
        signer=TokenSigner(settings),
        passwords=passwords or Passwords(),
        gateway=gateway,
        metrics=metrics,
        rate_limiter=RateLimiter(redis, metrics),
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await redis.aclose()
        await engine.dispose()

    app = FastAPI(
        title="Modelplane API",
        version=__version__,
        lifespan=lifespan,
        description="The facade of Modelplane: auth, organizations, projects, audit. Every "
        "response is an envelope; see docs/api.md.",
    )
    app.state.ctx = ctx
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(limit_by_ip)])
    for router in (
        auth_router,
        organizations_router,
        projects_router,
        api_keys_router,
        audit_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)
    _install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Routes of included routers carry their path relative to the router; logs and metrics
    # want the full template, so map each route object to it once.
    contexts = list(iter_route_contexts(app.routes))
    route_paths = {id(rc.original_route): rc.path for rc in contexts}
    app.state.allowed_methods = _allowed_methods(contexts)
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, route_paths=route_paths
    )
    return app


def _allowed_methods(contexts: list[Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    # Starlette's 405 lists the methods of the first route that matched the path; a path served
    # by several routes (GET and POST /organizations) must list all of them (RFC 9110 §15.5.6).
    by_path: dict[str, set[str]] = {}
    for context in contexts:
        if context.path and context.methods:
            by_path.setdefault(context.path, set()).update(context.methods)
    return [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), frozenset(methods))
        for path, methods in by_path.items()
    ]


UNIQUE_VIOLATION = "23505"
"""PostgreSQL's SQLSTATE for a duplicate key in a unique index."""


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _allow_header(app: FastAPI, path: str) -> str:
    methods: set[str] = set()
    for pattern, allowed in app.state.allowed_methods:
        if pattern.match(path):
            methods |= allowed
    return ", ".join(sorted(methods))


def _install_error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        await record_failure(request, app.state.ctx.sessions, exc.status_code, exc.code)
        return error_response(
            error_body(exc.code, exc.message, exc.details), exc.status_code, exc.headers
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTP_CODES.get(exc.status_code, "error")
        await record_failure(request, app.state.ctx.sessions, exc.status_code, code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allow_header(app, request.url.path) or headers.get("Allow", "")
        if exc.status_code < 400:
            return Response(status_code=exc.status_code, headers=headers)
        return error_response(error_body(code, str(exc.detail)), exc.status_code, headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = [
            {
                "loc": list(err.get("loc", ())),
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        if details and all(d["type"] == UNSTORABLE_TEXT for d in details):
            # Valid for the OpenAPI schema (any string), refused by a rule beyond it: 400.
            await record_failure(request, app.state.ctx.sessions, 400, "bad_request")
            return error_response(error_body("bad_request", "text cannot be stored", details), 400)
        await record_failure(request, app.state.ctx.sessions, 422, "validation_error")
        return error_response(error_body("validation_error", "request is not valid", details), 422)

    async def database_error(request: Request, exc: Exception) -> Response:
        # A unique index that caught what the service's check missed (two identical creates
        # at once) is the same 409 the check gives; a value the database refuses is the
        # client's 400; connection-level trouble is a 503; anything else is a bug, a 500.
        if isinstance(exc, IntegrityError) and _sqlstate(exc) == UNIQUE_VIOLATION:
            await record_failure(request, app.state.ctx.sessions, 409, "already_exists")
            return error_response(
                error_body("already_exists", "a resource with these values already exists"), 409
            )
        if isinstance(exc, DataError):  # a value the database cannot take (e.g. NUL in a query)
            await record_failure(request, app.state.ctx.sessions, 400, "bad_request")
            return error_response(
                error_body("bad_request", "a value in the request cannot be stored or compared"),
                400,
            )
        invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
        if not (invalidated or isinstance(exc, PoolTimeout)):
            raise exc
        await record_failure(request, app.state.ctx.sessions, 503, "database_unavailable")
        return error_response(
            error_body("database_unavailable", "the database is unavailable, try again"), 503
        )

    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(PoolTimeout, database_error)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
