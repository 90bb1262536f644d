"""Sign-up, sign-in and token rotation rules.

Refresh tokens follow RFC 9700 §4.14.2: each use marks the token used and issues a successor in
the same family. A used token presented again within `refresh_reuse_grace_seconds` (two tabs
refreshing at once) gets a sibling; after that it is treated as stolen: the whole family, the
newest token included, is revoked and that revocation is committed even though the request fails.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.auth import repository
from modelplane_api.auth.models import RefreshToken, User
from modelplane_api.auth.schemas import LoginRequest, TokenPublic, UserCreate
from modelplane_api.context import AppContext
from modelplane_api.errors import (
    AlreadyExists,
    InvalidCredentials,
    InvalidToken,
    RefreshTokenReused,
    ServiceUnavailable,
)
from modelplane_api.ratelimit import Limit
from modelplane_api.security import AccessClaims, digest, new_refresh_token

log = logging.getLogger("modelplane_api.auth")


async def register(
    session: AsyncSession, ctx: AppContext, data: UserCreate, audit: AuditContext
) -> User:
    """Create a user account."""
    email = data.email.lower()
    if await repository.get_user_by_email(session, email) is not None:
        raise AlreadyExists("an account with this email exists")
    user = User(
        id=uuid.uuid4(),
        email=email,
        display_name=data.display_name,
        # Argon2id costs tens of milliseconds of CPU by design: never on the event loop.
        password_hash=await asyncio.to_thread(ctx.passwords.hash, data.password),
    )
    session.add(user)
    await session.flush()
    audit.actor_type, audit.actor_id = "user", user.id
    audit.resource_id = str(user.id)
    audit.after = {"email": email, "display_name": data.display_name}
    return user


async def login(
    session: AsyncSession, ctx: AppContext, data: LoginRequest, audit: AuditContext
) -> TokenPublic:
    """Check a password and start a new refresh-token family.

    Besides the per-IP auth budget, each account has its own budget, so guessing one account's
    password from many addresses is limited too (fails closed without Redis, like all auth).
    """
    settings = ctx.settings
    await ctx.rate_limiter.hit(
        Limit(
            "login-account",
            settings.rate_limit_login_per_account,
            settings.rate_limit_window_seconds,
            fail_closed=True,
        ),
        digest(data.email.lower()),
    )
    user = await repository.get_user_by_email(session, data.email.lower())
    valid = await asyncio.to_thread(
        ctx.passwords.verify, user.password_hash if user else None, data.password
    )
    if user is None or not valid or not user.is_active:
        raise InvalidCredentials("invalid email or password")
    audit.actor_type, audit.actor_id, audit.resource_id = "user", user.id, str(user.id)
    return await _issue(session, ctx, user.id, family_id=uuid.uuid4())


async def refresh(
    session: AsyncSession, ctx: AppContext, token: str, audit: AuditContext
) -> TokenPublic:
    """Exchange a refresh token for a new pair, detecting reuse."""
    now = ctx.clock()
    row = await repository.get_refresh_token_for_update(session, digest(token))
    if row is None or row.expires_at <= now:
        raise InvalidToken("invalid refresh token")
    audit.actor_type, audit.actor_id, audit.resource_id = "user", row.user_id, str(row.family_id)
    if row.revoked_at is not None:
        raise InvalidToken("refresh token revoked")
    if row.used_at is not None:
        grace = timedelta(seconds=ctx.settings.refresh_reuse_grace_seconds)
        if now - row.used_at > grace:
            await repository.revoke_family(session, row.family_id, now)
            raise RefreshTokenReused("refresh token reused: all sessions of this login revoked")
    else:
        row.used_at = now
    user = await repository.get_active_user(session, row.user_id)
    if user is None:
        raise InvalidToken("invalid refresh token")
    return await _issue(session, ctx, user.id, family_id=row.family_id)


async def logout(
    session: AsyncSession,
    ctx: AppContext,
    token: str,
    access: AccessClaims | None,
    audit: AuditContext,
) -> None:
    """Revoke the token's family, and the access token the call was made with (its `jti` is
    refused until it expires); unknown refresh tokens are accepted silently."""
    if access is not None:
        await revoke_access_token(ctx, access)
    row = await repository.get_refresh_token_for_update(session, digest(token))
    if row is None:
        return
    audit.actor_type, audit.actor_id, audit.resource_id = "user", row.user_id, str(row.family_id)
    await repository.revoke_family(session, row.family_id, ctx.clock())


async def _issue(
    session: AsyncSession, ctx: AppContext, user_id: uuid.UUID, family_id: uuid.UUID
) -> TokenPublic:
    now: datetime = ctx.clock()
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            id=uuid.uuid4(),
            user_id=user_id,
            family_id=family_id,
            token_hash=digest(refresh_token),
            expires_at=now + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return TokenPublic(
        access_token=ctx.signer.issue(user_id, now),
        expires_in=ctx.signer.ttl_seconds,
        refresh_token=refresh_token,
    )


REVOKED_PREFIX = "revoked-jti:"


async def revoke_access_token(ctx: AppContext, claims: AccessClaims) -> None:
    """Refuse this access token from now until it expires (its `jti` kept in Redis that long)."""
    ttl = int((claims.expires_at - ctx.clock()).total_seconds()) + ctx.settings.clock_skew_seconds
    if claims.token_id and ttl > 0:
        try:
            await ctx.redis.set(REVOKED_PREFIX + claims.token_id, "1", ex=ttl)
        except RedisError as exc:
            raise ServiceUnavailable("cannot revoke the access token now, try again") from exc


async def access_token_revoked(ctx: AppContext, claims: AccessClaims) -> bool:
    """Whether the token was revoked by a logout. Without Redis this answers False (the token
    is still short-lived) and says so in the log, like the rate limiter's fail-open buckets."""
    if not claims.token_id:
        return False
    try:
        return bool(await ctx.redis.exists(REVOKED_PREFIX + claims.token_id))
    except RedisError:
        log.warning("revocation check skipped: Redis unavailable")
        return False
