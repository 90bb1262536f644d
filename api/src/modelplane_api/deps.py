"""FastAPI dependencies: the session that owns the transaction, the caller, and access checks.

Aliases (`SessionDep`, `Ctx`, `Audit`, `CurrentPrincipal`, `CurrentUser`, `<Permission>Access`)
keep route signatures short.
`require(permission)` is the only way an organization-scoped route checks access: it resolves
the caller's role in the organization named by the path (no membership → 404, never a hint that
the organization exists; membership without the permission → 403).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import (
    AuditContext,
    add_success_event,
    audit_context,
    build_event,
    outcome_for,
)
from modelplane_api.auth import repository as auth_repo
from modelplane_api.auth.models import User
from modelplane_api.auth.service import access_token_revoked
from modelplane_api.cluster import ClusterCaller, ClusterGateway
from modelplane_api.context import AppContext
from modelplane_api.errors import (
    DomainError,
    InvalidToken,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
)
from modelplane_api.organizations import repository as org_repo
from modelplane_api.pagination import reject_unknown_filters
from modelplane_api.permissions import KeyScope, Permission, Role, allows
from modelplane_api.ratelimit import Limit
from modelplane_api.security import API_KEY_PREFIX, AccessClaims, digest
from modelplane_crds.organization import api_key_identity, user_identity

READ_METHODS = frozenset({"GET", "HEAD"})


async def get_context(request: Request) -> AppContext:
    """The app's collaborators. Every dependency is `async def`: FastAPI runs a plain `def`
    dependency in a worker thread, a hand-off that costs more than the work
    (tests/api/test_http.py)."""
    ctx: AppContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AppContext, Depends(get_context)]


async def get_session(request: Request, ctx: Ctx) -> AsyncIterator[AsyncSession]:
    """One session and transaction per request: commit on success (with its audit event).

    Reads (GET, HEAD) run in autocommit mode: they change nothing and write no audit event, so
    a transaction would only add a BEGIN and a COMMIT round trip to every request.
    """
    sessions = ctx.read_sessions if request.method in READ_METHODS else ctx.sessions
    async with sessions() as session:
        try:
            yield session
        except DomainError as exc:
            if exc.persist_changes:
                event = build_event(
                    request,
                    outcome=outcome_for(exc.status_code),
                    status_code=exc.status_code,
                    error_code=exc.code,
                )
                if event is not None:
                    session.add(event)
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await commit_request(request, session, ctx)


async def commit_request(request: Request, session: AsyncSession, ctx: AppContext) -> None:
    """Commit the request's transaction with its success audit event (added once: a later
    commit of the same request commits only what changed since)."""
    route = request.scope.get("route")
    status_code = audit_context(request).status_code or getattr(route, "status_code", None) or 200
    recorded = add_success_event(request, session, status_code)
    try:
        await session.commit()
    except BaseException:
        # The change and its success event are both gone: let the error path record the
        # failure in a fresh transaction instead.
        audit_context(request).written = False
        raise
    if recorded:
        ctx.metrics.audit_events.labels("success").inc()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class Committer:
    """Commits the request's change, with its audit event, before the route calls out.

    For changes that other systems act on (a ModelVersion applied to the cluster, a version
    mirrored into MLflow): committing first means no external system ever holds something the
    database rolled back, and no row lock is held while a slow service answers. What the route
    changes afterwards (say, `mlflow_version`) is committed when the request ends."""

    request: Request
    session: AsyncSession
    ctx: AppContext

    async def __call__(self) -> None:
        await commit_request(self.request, self.session, self.ctx)


async def get_committer(request: Request, session: SessionDep, ctx: Ctx) -> Committer:
    """The request's early commit."""
    return Committer(request, session, ctx)


Commit = Annotated[Committer, Depends(get_committer)]


async def get_audit(request: Request) -> AuditContext:
    """The request's audit context, for services to fill."""
    return audit_context(request)


Audit = Annotated[AuditContext, Depends(get_audit)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (JWT) or a machine (API key bound to one org and role)."""

    kind: Literal["user", "api_key"]
    id: uuid.UUID
    organization_id: uuid.UUID | None = None
    role: Role | None = None
    scope: KeyScope = KeyScope.FULL
    """An API key's scope; a user's calls are never narrowed."""
    organization_slug: str | None = None
    """An API key's organization, read with the key."""

    @property
    def user_id(self) -> uuid.UUID | None:
        """The user behind the call, if it is a user."""
        return self.id if self.kind == "user" else None


bearer = HTTPBearer(auto_error=False, description="Access token (JWT) or API key (`mpk_…`)")


async def authenticate_token(
    request: Request,
    ctx: Ctx,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """Check the credentials and count the request against the caller's rate limit.

    For access tokens this proves the signature and claims only; whether the user still exists
    and is active is checked by `get_principal` (user routes) or inside the membership query of
    `resolve_access` (organization routes), which saves a query per request there.
    """
    principal = await verify_credentials(request, ctx, session, credentials)
    settings = ctx.settings
    await ctx.rate_limiter.hit(
        Limit("principal", settings.rate_limit_per_user, settings.rate_limit_window_seconds),
        f"{principal.kind}:{principal.id}",
    )
    return principal


async def verify_credentials(
    request: Request,
    ctx: AppContext,
    session: AsyncSession,
    credentials: HTTPAuthorizationCredentials | None,
) -> Principal:
    """The caller behind a bearer token (JWT or API key), without counting the request."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    token = credentials.credentials
    now = ctx.clock()
    if token.startswith(API_KEY_PREFIX):
        found = await auth_repo.get_live_api_key(session, digest(token), now)
        if found is None:
            raise InvalidToken("invalid API key")
        key, slug = found
        principal = Principal(
            "api_key", key.id, key.organization_id, Role(key.role), KeyScope(key.scope), slug
        )
    else:
        claims = ctx.signer.verify(token, now)
        if await access_token_revoked(ctx, claims):
            raise InvalidToken("access token revoked (signed out)")
        request.state.access_claims = claims
        principal = Principal("user", claims.subject)
    request.state.principal = principal
    audit = audit_context(request)
    audit.actor_type, audit.actor_id = principal.kind, principal.id
    return principal


TokenPrincipal = Annotated[Principal, Depends(authenticate_token)]


async def get_principal(
    request: Request, session: SessionDep, principal: TokenPrincipal
) -> Principal:
    """The authenticated caller; a user must still exist and be active."""
    if principal.kind == "user":
        user = await auth_repo.get_active_user(session, principal.id)
        if user is None:
            raise InvalidToken("the token's user no longer exists")
        request.state.user = user
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(request: Request, principal: CurrentPrincipal) -> User:
    """The signed-in user; API keys are refused (they act for an organization, not a person)."""
    if principal.kind != "user":
        raise PermissionDenied("this endpoint needs a user's access token, not an API key")
    user: User = request.state.user
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def optional_access_claims(
    ctx: Ctx,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> AccessClaims | None:
    """The verified claims of an access token when the request carries one, else None (logout
    takes a refresh token and, optionally, the access token to revoke with it). Not declared
    as security in OpenAPI: the route works without it."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token or token.startswith(API_KEY_PREFIX):
        return None
    try:
        return ctx.signer.verify(token, ctx.clock())
    except InvalidToken:
        return None


OptionalAccess = Annotated[AccessClaims | None, Depends(optional_access_claims)]


@dataclass(frozen=True)
class OrgAccess:
    """A caller's verified access to one organization."""

    organization_id: uuid.UUID
    role: Role
    principal: Principal
    slug: str
    """The organization's slug (its namespace is `mp-<slug>`)."""

    @property
    def caller(self) -> ClusterCaller:
        """Whom the cluster sees for this caller: their Kubernetes user name and role."""
        if self.principal.kind == "user":
            name = user_identity(self.principal.id)
        else:
            name = api_key_identity(self.principal.id)
        return ClusterCaller(name, self.role.value)

    def cluster(self, ctx: AppContext) -> ClusterGateway:
        """The cluster gateway acting as this caller (impersonated; docs/security.md)."""
        return ctx.gateway.acting_as(self.caller)


async def resolve_access(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    organization_id: uuid.UUID,
    permission: Permission,
) -> OrgAccess:
    """The caller's role in an organization, or 404 (not a member) / 403 (role too weak)."""
    role: Role | None = None
    slug = ""
    if principal.kind == "api_key":
        if principal.organization_id == organization_id:
            role, slug = principal.role, principal.organization_slug or ""
    else:
        member = await org_repo.member_role(session, organization_id, principal.id)
        if member is not None:
            role, slug = Role(member[0]), member[1]
        elif await auth_repo.get_active_user(session, principal.id) is None:
            raise InvalidToken("the token's user no longer exists")
    if role is None:
        raise NotFound("organization not found")
    audit_context(request).organization_id = organization_id
    if not allows(role, permission):
        raise PermissionDenied(f"role {role.value} may not {permission.value}")
    if not allows(role, permission, principal.scope):
        raise PermissionDenied(
            f"this API key's scope is {principal.scope.value}: it may not {permission.value}"
        )
    return OrgAccess(organization_id, role, principal, slug)


class RequirePermission:
    """Dependency: the caller holds `permission` in the organization of the path's `org_id`."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self,
        request: Request,
        session: SessionDep,
        principal: TokenPrincipal,
        org_id: Annotated[uuid.UUID, Path()],
    ) -> OrgAccess:
        return await resolve_access(request, session, principal, org_id, self.permission)


class RequireQueryPermission(RequirePermission):
    """Like RequirePermission, for routes that name the organization in `?organization_id=`."""

    async def __call__(
        self,
        request: Request,
        session: SessionDep,
        principal: TokenPrincipal,
        organization_id: Annotated[uuid.UUID, Query(description="Organization to read")],
    ) -> OrgAccess:
        return await resolve_access(request, session, principal, organization_id, self.permission)


def require(permission: Permission) -> Any:
    """`Depends(...)` for `Annotated[OrgAccess, require(Permission.X)]` in a route signature."""
    return Depends(RequirePermission(permission))


# One alias per permission, so a route's signature reads `access: ProjectReadAccess`. The registry
# and monitor routes still spell theirs out as `Annotated[OrgAccess, require(...)]`.
OrganizationReadAccess = Annotated[OrgAccess, require(Permission.ORGANIZATION_READ)]
OrganizationUpdateAccess = Annotated[OrgAccess, require(Permission.ORGANIZATION_UPDATE)]
MemberReadAccess = Annotated[OrgAccess, require(Permission.MEMBER_READ)]
MemberCreateAccess = Annotated[OrgAccess, require(Permission.MEMBER_CREATE)]
MemberUpdateAccess = Annotated[OrgAccess, require(Permission.MEMBER_UPDATE)]
MemberDeleteAccess = Annotated[OrgAccess, require(Permission.MEMBER_DELETE)]
ProjectReadAccess = Annotated[OrgAccess, require(Permission.PROJECT_READ)]
ProjectCreateAccess = Annotated[OrgAccess, require(Permission.PROJECT_CREATE)]
ProjectUpdateAccess = Annotated[OrgAccess, require(Permission.PROJECT_UPDATE)]
ProjectDeleteAccess = Annotated[OrgAccess, require(Permission.PROJECT_DELETE)]
ApiKeyReadAccess = Annotated[OrgAccess, require(Permission.API_KEY_READ)]
ApiKeyCreateAccess = Annotated[OrgAccess, require(Permission.API_KEY_CREATE)]
ApiKeyDeleteAccess = Annotated[OrgAccess, require(Permission.API_KEY_DELETE)]
DeploymentReadAccess = Annotated[OrgAccess, require(Permission.DEPLOYMENT_READ)]
UsageReadAccess = Annotated[OrgAccess, require(Permission.USAGE_READ)]
DeploymentCreateAccess = Annotated[OrgAccess, require(Permission.DEPLOYMENT_CREATE)]
DeploymentUpdateAccess = Annotated[OrgAccess, require(Permission.DEPLOYMENT_UPDATE)]
DeploymentDeleteAccess = Annotated[OrgAccess, require(Permission.DEPLOYMENT_DELETE)]
PayloadReadAccess = Annotated[OrgAccess, require(Permission.DEPLOYMENT_PAYLOADS)]
FeedbackAccess = Annotated[OrgAccess, require(Permission.DEPLOYMENT_FEEDBACK)]


@dataclass(frozen=True)
class InferenceCaller:
    """A caller allowed to call one organization's deployments, and that organization's slug."""

    access: OrgAccess
    slug: str


async def inference_access(
    request: Request,
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    org_id: Annotated[uuid.UUID, Path()],
) -> InferenceCaller:
    """The caller may call the organization's deployments; counted against the inference
    budgets of the caller and of the organization (not the API's per-user budget).

    Checked in an autocommit session that is given back before the call is forwarded: a
    request waiting for a model holds no database connection and writes no audit event. Each
    client address has a budget too, counted before any credential is looked up."""
    settings, window = ctx.settings, ctx.settings.rate_limit_window_seconds
    await ctx.rate_limiter.hit(
        Limit("infer-ip", settings.inference_rate_per_ip, window), client_ip(request)
    )
    async with ctx.read_sessions() as session:
        principal = await verify_credentials(request, ctx, session, credentials)
        access = await resolve_access(
            request, session, principal, org_id, Permission.DEPLOYMENT_INFER
        )
    per_principal = Limit("infer-principal", settings.inference_rate_per_principal, window)
    per_org = Limit("infer-organization", settings.inference_rate_per_organization, window)
    await ctx.rate_limiter.hit_all(
        (per_principal, f"{principal.kind}:{principal.id}"), (per_org, str(org_id))
    )
    return InferenceCaller(access, access.slug)


InferenceAccess = Annotated[InferenceCaller, Depends(inference_access)]
AuditReadAccess = Annotated[OrgAccess, Depends(RequireQueryPermission(Permission.AUDIT_READ))]


def known_filters(*allowed: str) -> Any:
    """`Depends(...)`: 400 for a `filter[...]` the route does not declare."""
    names = set(allowed)

    async def check(request: Request) -> None:
        reject_unknown_filters(request, names)

    return Depends(check)


async def limit_by_ip(request: Request, ctx: Ctx) -> None:
    """Every API request counts against its client IP."""
    settings = ctx.settings
    await ctx.rate_limiter.hit(
        Limit("ip", settings.rate_limit_per_ip, settings.rate_limit_window_seconds),
        client_ip(request),
    )


async def limit_auth_by_ip(request: Request, ctx: Ctx) -> None:
    """Login, register and refresh: a strict per-IP budget that fails closed without Redis."""
    settings = ctx.settings
    await ctx.rate_limiter.hit(
        Limit(
            "auth",
            settings.rate_limit_auth_per_ip,
            settings.rate_limit_window_seconds,
            fail_closed=True,
        ),
        client_ip(request),
    )


def client_ip(request: Request) -> str:
    """The peer address (proxies: run uvicorn with --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"
