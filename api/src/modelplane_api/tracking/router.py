"""Routes of `/api/v1/organizations/{org}/mlflow/…`: the organization's MLflow workspace for
the standard `mlflow` client (`MLFLOW_TRACKING_URI=<facade>/api/v1/organizations/<slug>/mlflow`,
`MLFLOW_TRACKING_TOKEN=<API key or access token>`). `{org}` is the organization's slug or id.

MLflow's own answers (success and its `{error_code, message}` errors) pass through unchanged,
so the client behaves as against MLflow; the facade's refusals (401, 403, 404, 413, 429, 503)
carry the envelope, and an MLflow server error becomes 502. Calls have budgets of their own per
caller and client address (not the API's per-IP budget: a training loop logs often). Runs and
experiments created or deleted, `log_batch` calls and artifact uploads are audited, one event
per call (never one per metric).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from modelplane_api.audit.recorder import (
    AuditContext,
    audit_context,
    dynamic_audit,
    record_outcome,
)
from modelplane_api.deps import Audit, Ctx, bearer, client_ip, resolve_access, verify_credentials
from modelplane_api.envelope import ERROR_RESPONSES
from modelplane_api.errors import BadGateway, NotFound
from modelplane_api.organizations import repository as org_repo
from modelplane_api.ratelimit import Limit
from modelplane_api.registry.resources import namespace_of
from modelplane_api.tracking.service import (
    Rule,
    artifact_details,
    audit_details,
    resource_type,
    rule_for,
)

router = APIRouter(prefix="/organizations/{org}/mlflow", tags=["experiments"])
OrgRef = Annotated[
    str,
    Path(
        min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="The organization's slug or id",
    ),
]  # fmt: skip
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class TrackingCall:
    """An allowed call, ready to forward: what it needs and how its audit event is written."""

    rule: Rule
    workspace: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    sent: bytes
    """The body, read (empty when it is streamed)."""
    content: bytes | AsyncIterator[bytes]
    record: Callable[[int, str | None], Awaitable[bool]]
    """Write the call's audit event (status, error code) in a transaction of its own."""


async def tracking_call(
    org: OrgRef,
    path: str,
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TrackingCall:
    """The caller may make this MLflow call in the organization: budgets counted (per client
    address before credentials, per caller after), the API allowed (`rule_for`), the role's
    permission held. Checked in an autocommit session given back before the call is forwarded."""
    settings, window = ctx.settings, ctx.settings.rate_limit_window_seconds
    await ctx.rate_limiter.hit(
        Limit("tracking-ip", settings.tracking_rate_per_ip, window), client_ip(request)
    )
    method = request.method
    async with ctx.read_sessions() as session:
        principal = await verify_credentials(request, ctx, session, credentials)
        organization = await org_repo.find_organization(session, org)
        if organization is None:
            raise NotFound("organization not found")
        rule = rule_for(method, path)
        if rule.audit is not None:
            audit_context(request).action = (rule.audit, resource_type(rule.audit))
        await resolve_access(request, session, principal, organization.id, rule.permission)
    await ctx.rate_limiter.hit(
        Limit("tracking-principal", settings.tracking_rate_per_principal, window),
        f"{principal.kind}:{principal.id}",
    )
    sent = b"" if rule.streamed else await request.body()

    async def record(status: int, error_code: str | None) -> bool:
        return await record_outcome(request, ctx.sessions, status, error_code)

    return TrackingCall(
        rule, namespace_of(organization.slug), method, path, request.url.query,
        {k.lower(): v for k, v in request.headers.items()}, sent,
        request.stream() if rule.streamed else sent, record,
    )  # fmt: skip


Call = Annotated[TrackingCall, Depends(tracking_call)]


async def mlflow_api(ctx: Ctx, call: Call, audit: Audit) -> Response:
    """One MLflow REST call in the organization's workspace (see docs/experiments.md for the
    APIs served and the permission each needs)."""
    await ctx.mirror.ensure_workspace(call.workspace)
    upstream = await ctx.tracking.send(
        call.workspace, call.method, call.path, call.query, call.headers, call.content
    )
    status = upstream.response.status_code
    if status >= 500 or status == 401:  # 401: MLflow refused the facade's token, not the caller's
        detail = (await upstream.body())[:300].decode("utf-8", "replace")
        raise BadGateway(f"the MLflow tracking server failed ({status}): {detail}")
    if call.method == "GET" and call.rule.audit is None and status == 200:
        return StreamingResponse(upstream.stream(), status_code=status, headers=upstream.headers)
    body = await upstream.body()
    if call.rule.audit is not None:
        await _record(call, audit, body, status)
    return Response(body, status_code=status, headers=upstream.headers)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        found = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return found if isinstance(found, dict) else {}


async def _record(call: TrackingCall, audit: AuditContext, answer: bytes, status: int) -> None:
    """The call's audit event, in its own transaction (the proxy holds none)."""
    action = call.rule.audit
    assert action is not None
    if status < 400:
        if action.startswith("experiment.artifact."):
            resource, after = artifact_details(call.path)
        else:
            resource, after = audit_details(action, _json(call.sent), _json(answer))
        audit.resource_id = str(resource)[:64] if resource is not None else None
        audit.after = after
    error_code = str(_json(answer).get("error_code") or "mlflow_error") if status >= 400 else None
    await call.record(status, error_code)


for _method in METHODS:
    router.add_api_route(
        "/{path:path}",
        mlflow_api,
        methods=[_method],
        operation_id=f"mlflow_{_method.lower()}",
        response_class=Response,
        responses={
            **{code: ERROR_RESPONSES[code] for code in (401, 403, 404, 429, 502, 503)},
            200: {"description": "MLflow's answer, unchanged"},
        },
        openapi_extra=dynamic_audit("the MLflow API called decides: see tracking/service.py"),
    )
