"""The application factory: `create_app(settings)` wires every collaborator explicitly.

Nothing is created at import time; each app owns its engine, Redis client, key ring, metrics
registry and cluster gateway, and closes them on shutdown. Errors of every kind leave as the
envelope: domain errors through one handler, router 404/405 and 422 validation errors reshaped,
and anything unexpected as a 500 from the middleware without a stack trace.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import iter_route_contexts
from redis.asyncio import Redis
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import URL
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from modelplane_api import __version__
from modelplane_api.api_keys.router import router as api_keys_router
from modelplane_api.audit.recorder import record_failure
from modelplane_api.audit.router import router as audit_router
from modelplane_api.auth.router import router as auth_router
from modelplane_api.cluster import FIELD_MANAGER, ClusterGateway, KubernetesClusterGateway
from modelplane_api.context import AppContext, Clock, utc_now
from modelplane_api.db import create_engine, create_sessionmaker
from modelplane_api.deployments.router import router as deployments_router
from modelplane_api.deps import limit_by_ip
from modelplane_api.envelope import error_body
from modelplane_api.errors import ClusterUnavailable, DomainError
from modelplane_api.experiments.router import router as experiments_router
from modelplane_api.feedback.router import router as feedback_router
from modelplane_api.health.router import router as health_router
from modelplane_api.inference.proxy import ServingProxy
from modelplane_api.inference.router import router as inference_router
from modelplane_api.metrics import Metrics
from modelplane_api.middleware import RequestContextMiddleware
from modelplane_api.mlflow_mirror import DisabledMirror, HttpRegistryMirror, RegistryMirror
from modelplane_api.monitors.router import router as monitors_router
from modelplane_api.organizations.router import router as organizations_router
from modelplane_api.outbox.worker import drain_once, run_forever
from modelplane_api.payload_logs.router import router as payload_logs_router
from modelplane_api.projects.router import router as projects_router
from modelplane_api.prometheus import PrometheusClient
from modelplane_api.ratelimit import RateLimiter
from modelplane_api.registry.reconcile import reconcile_once
from modelplane_api.registry.router import router as registry_router
from modelplane_api.registry.router import upload_router as registry_upload_router
from modelplane_api.responses import error_response
from modelplane_api.schemas import UNSTORABLE_TEXT
from modelplane_api.security import Passwords, TokenSigner
from modelplane_api.settings import Settings
from modelplane_api.storage import ArtifactStore, PayloadStore, S3ArtifactStore, S3PayloadStore
from modelplane_api.tracking.router import router as tracking_router
from modelplane_api.tracking.service import TrackingProxy

API_PREFIX = "/api/v1"
MLFLOW_ARTIFACT_UPLOADS = re.compile(
    rf"^{API_PREFIX}/organizations/[^/]+/mlflow/api/2\.0/mlflow-artifacts/"
)
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

BEYOND_SCHEMA = frozenset({"value_error", "assertion_error"})
"""Pydantic error types raised by our own validators, not by the schema's keywords."""


class DisabledClusterGateway:
    """Used when `MODELPLANE_API_KUBERNETES_ENABLED=false`: every cluster write answers 503."""

    def acting_as(self, caller: Any) -> DisabledClusterGateway:
        """Itself: there is nobody to act as in no cluster."""
        return self

    async def apply(
        self, kind: Any, body: dict[str, Any], field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")

    async def get(self, kind: Any, name: str, namespace: str | None = None) -> None:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")

    async def delete(self, kind: Any, name: str, namespace: str | None = None) -> None:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")

    async def list_objects(
        self, kind: Any, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")

    async def events(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")

    async def service_address(self, namespace: str, name: str) -> str | None:
        """Refuse: no cluster configured."""
        raise ClusterUnavailable("Kubernetes integration is disabled")


FORM_OVERHEAD_BYTES = 1024 * 1024
"""What an upload's body may carry besides its files (boundaries, headers, the metadata)."""


def create_app(
    settings: Settings,
    *,
    gateway: ClusterGateway | None = None,
    artifacts: ArtifactStore | None = None,
    payloads: PayloadStore | None = None,
    clock: Clock = utc_now,
    passwords: Passwords | None = None,
) -> FastAPI:
    """Build the facade for `settings`; pass a gateway, store or clock to replace the real
    ones. With `settings.background_tasks` the outbox worker and the reconciliation run while
    the app serves."""
    if gateway is None:
        gateway = (
            KubernetesClusterGateway.from_kubeconfig(settings.kubeconfig)
            if settings.kubernetes_enabled
            else DisabledClusterGateway()
        )
    if artifacts is None:
        secret = settings.s3_secret_access_key
        artifacts = S3ArtifactStore(
            settings.artifact_bucket,
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            region=settings.s3_region,
        )
    if payloads is None:
        secret = settings.s3_secret_access_key
        payloads = S3PayloadStore(
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            region=settings.s3_region,
        )
    mlflow_token = settings.mlflow_token.get_secret_value() if settings.mlflow_token else None
    mirror: RegistryMirror = (
        HttpRegistryMirror(settings.mlflow_tracking_uri, token=mlflow_token)
        if settings.mlflow_tracking_uri
        else DisabledMirror()
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
        artifacts=artifacts,
        mirror=mirror,
        metrics=metrics,
        rate_limiter=RateLimiter(redis, metrics),
        upload_slots=asyncio.Semaphore(settings.max_concurrent_uploads),
        serving=ServingProxy(gateway, timeout_s=settings.inference_timeout_seconds),
        payloads=payloads,
        tracking=TrackingProxy(settings.mlflow_tracking_uri, token=mlflow_token),
        prometheus=PrometheusClient(
            settings.prometheus_url, timeout_s=settings.prometheus_timeout_seconds
        ),
        clock=clock,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if settings.background_tasks:
            tasks = [
                asyncio.create_task(
                    run_forever("outbox", lambda: drain_once(ctx), settings.outbox_interval_seconds)
                ),
                asyncio.create_task(
                    run_forever(
                        "reconcile",
                        lambda: reconcile_once(ctx),
                        settings.reconcile_interval_seconds,
                    )
                ),
            ]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if isinstance(mirror, HttpRegistryMirror):
            await mirror.aclose()
        await ctx.serving.aclose()
        await ctx.tracking.aclose()
        await ctx.prometheus.aclose()
        await redis.aclose()
        await engine.dispose()

    app = FastAPI(
        title="Modelplane API",
        version=__version__,
        lifespan=lifespan,
        description="The facade of Modelplane: auth, organizations, projects, the model "
        "registry, deployments, drift monitors, audit. Every "
        "response is an envelope; see docs/api.md.",
    )
    app.state.ctx = ctx
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(limit_by_ip)])
    for router in (
        auth_router,
        organizations_router,
        projects_router,
        registry_router,
        deployments_router,
        monitors_router,
        api_keys_router,
        audit_router,
        registry_upload_router,
        feedback_router,
        payload_logs_router,
        experiments_router,
    ):
        api.include_router(router)
    app.include_router(api)
    # Inference has budgets of its own (per caller and organization, in `inference_access`),
    # not the API's per-IP budget.
    app.include_router(inference_router, prefix=API_PREFIX)
    # So has MLflow tracking (per caller and client address, in the route).
    app.include_router(tracking_router, prefix=API_PREFIX)
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
    # MLflow artifact uploads (PUT) are capped as model uploads are.
    upload_paths = (*_paths_of(contexts, registry_upload_router), MLFLOW_ARTIFACT_UPLOADS)
    # Inference and feedback (10,000 rows) carry more than MAX_BODY_BYTES.
    inference_paths = _paths_of(contexts, inference_router) + _paths_of(contexts, feedback_router)
    dashboard = Path(settings.dashboard_dir) if settings.dashboard_dir else None
    if dashboard is not None and (dashboard / "index.html").is_file():
        # Last, so that every API route, /health, /docs and /openapi.json match first. Gzipped
        # for clients that accept it: the export's JavaScript shrinks to about a third
        # (docs/benchmarks.md, "Dashboard first load"); API answers are left as they are.
        files = DashboardFiles(app.state.allowed_methods, dashboard)
        app.mount("/", GZipMiddleware(files, minimum_size=1024), name="dashboard")
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        route_paths=route_paths,
        upload_paths=upload_paths,
        max_upload_bytes=settings.max_upload_bytes + FORM_OVERHEAD_BYTES,
        inference_paths=inference_paths,
        max_inference_bytes=settings.max_inference_bytes,
    )
    return app


def _paths_of(contexts: list[Any], router: APIRouter) -> tuple[re.Pattern[str], ...]:
    """Patterns matching the full paths of a router's routes."""
    return tuple(
        re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", rc.path or "") + "/?$")
        for rc in contexts
        if any(rc.original_route is r for r in router.routes)
    )


class DashboardFiles(StaticFiles):
    """The dashboard's static export at `/`. A path under `/api/` that no route served is
    answered as the router alone would: a redirect without the trailing slash when that path
    exists, else 405 when another method of it exists, else 404 — never the dashboard's HTML."""

    def __init__(
        self, allowed: list[tuple[re.Pattern[str], frozenset[str], int]], directory: Path
    ) -> None:
        super().__init__(directory=directory, html=True)
        self._allowed = allowed

    async def get_response(self, path: str, scope: Scope) -> Response:
        """Serve a file of the export, or answer for the API."""
        if path == "api" or path.startswith("api/"):
            requested: str = scope["path"]
            stripped = requested.rstrip("/")
            if not any(pattern.match(stripped) for pattern, _, _ in self._allowed):
                raise StarletteHTTPException(404)
            if requested != stripped:  # what the router's redirect_slashes does
                return RedirectResponse(str(URL(scope=scope).replace(path=stripped)), 307)
            raise StarletteHTTPException(405)
        return await super().get_response(path, scope)


def _allowed_methods(
    contexts: list[Any],
) -> list[tuple[re.Pattern[str], frozenset[str], int]]:
    # Starlette's 405 lists the methods of the first route that matched the path; a path served
    # by several routes (GET and POST /organizations) must list all of them (RFC 9110 §15.5.6).
    # Each template keeps its number of literal segments: `/versions/from-run` is served by its
    # own route, not by `/versions/{version_id}`, so only the most literal templates count.
    by_path: dict[str, set[str]] = {}
    for context in contexts:
        if context.path and context.methods:
            by_path.setdefault(context.path, set()).update(context.methods)
    return [
        (
            re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"),
            frozenset(methods),
            sum(1 for part in path.split("/") if part and not part.startswith("{")),
        )
        for path, methods in by_path.items()
    ]


UNIQUE_VIOLATION = "23505"
"""PostgreSQL's SQLSTATE for a duplicate key in a unique index."""


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def _allow_header(app: FastAPI, path: str) -> str:
    matches = [(literal, allowed) for pattern, allowed, literal in app.state.allowed_methods
               if pattern.match(path)]  # fmt: skip
    best = max((literal for literal, _ in matches), default=0)
    methods: set[str] = set()
    for literal, allowed in matches:
        if literal == best:
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
        if details and all(d["type"] in BEYOND_SCHEMA for d in details):
            # Our own validators (duplicate tensor names, cross-field rules): the OpenAPI
            # schema cannot say these, so a client that follows it gets the 400 of a rule.
            await record_failure(request, app.state.ctx.sessions, 400, "bad_request")
            return error_response(error_body("bad_request", "request is not valid", details), 400)
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
