"""Routes of `/api/v1/auth`: register, login, refresh, logout, me."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from modelplane_api.audit.recorder import audited
from modelplane_api.auth import service
from modelplane_api.auth.schemas import (
    LoginRequest,
    RefreshRequest,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from modelplane_api.deps import (
    Audit,
    Ctx,
    CurrentUser,
    OptionalAccess,
    SessionDep,
    limit_auth_by_ip,
)
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, ok

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)
AuthLimited = [Depends(limit_auth_by_ip)]


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=AuthLimited,
    openapi_extra=audited("user.register", "user"),
    operation_id="register",
)
async def register(
    body: UserCreate, session: SessionDep, ctx: Ctx, audit: Audit
) -> Envelope[UserPublic]:
    """Create an account."""
    user = await service.register(session, ctx, body, audit)
    return ok(UserPublic.model_validate(user))


@router.post(
    "/login",
    dependencies=AuthLimited,
    openapi_extra=audited("auth.login", "user"),
    operation_id="login",
)
async def login(
    body: LoginRequest, session: SessionDep, ctx: Ctx, audit: Audit
) -> Envelope[TokenPublic]:
    """Exchange email and password for an access token and a refresh token."""
    return ok(await service.login(session, ctx, body, audit))


@router.post(
    "/refresh",
    dependencies=AuthLimited,
    openapi_extra=audited("auth.refresh", "token_family"),
    operation_id="refresh",
)
async def refresh(
    body: RefreshRequest, session: SessionDep, ctx: Ctx, audit: Audit
) -> Envelope[TokenPublic]:
    """Rotate a refresh token: the old one stops working, a new pair is returned."""
    return ok(await service.refresh(session, ctx, body.refresh_token, audit))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=AuthLimited,
    openapi_extra=audited("auth.logout", "token_family"),
    operation_id="logout",
)
async def logout(
    body: RefreshRequest, session: SessionDep, ctx: Ctx, access: OptionalAccess, audit: Audit
) -> None:
    """Revoke a refresh token and every token rotated from the same login, and the access
    token sent in `Authorization` (refused from now on, until it would have expired)."""
    await service.logout(session, ctx, body.refresh_token, access, audit)


@router.get("/me", operation_id="get_me")
async def get_me(user: CurrentUser) -> Envelope[UserPublic]:
    """The signed-in user."""
    return ok(UserPublic.model_validate(user))
