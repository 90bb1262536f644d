"""Passwords, access tokens and opaque secrets.

- Passwords: Argon2id (argon2-cffi defaults, RFC 9106 low-memory profile). Unknown users are
  checked against a dummy hash so login answers the same way, in about the same time.
- Access tokens: JWT signed by the key ring in settings. Every key pins its algorithm; the
  verifier takes the key from the `kid` header (local ring only, never a URL), refuses tokens that
  are not `typ: at+jwt`, and requires exp/nbf/iat/iss/aud/sub (RFC 8725). Rotation: add a key,
  make it active, keep the old one until the last token it signed has expired.
- Refresh tokens and API keys: random opaque strings, stored as SHA-256 digests (they carry 256
  bits of entropy, so a slow hash adds nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from modelplane_api.errors import InvalidToken
from modelplane_api.settings import JwtKey, Settings

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105  # the JWT `typ`, not a secret
REFRESH_TOKEN_PREFIX = "mpr_"  # noqa: S105  # a visible prefix, not a secret
API_KEY_PREFIX = "mpk_"


class Passwords:
    """Argon2id hashing with a constant-work path for unknown accounts."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """Hash a new password."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Check a password; with no stored hash, spend the same work and answer False."""
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerificationError, InvalidHashError):
            return False


def digest(token: str) -> str:
    """SHA-256 hex digest of an opaque token, the form stored in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    """A fresh opaque refresh token."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> str:
    """A fresh opaque API key."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class AccessClaims:
    """The verified content of an access token."""

    subject: uuid.UUID
    token_id: str
    expires_at: datetime


@dataclass(frozen=True)
class _RingKey:
    kid: str
    algorithm: str
    signing: Any
    verifying: Any


def _load(key: JwtKey) -> _RingKey:
    if key.algorithm == "HS256":
        secret = key.private_key.get_secret_value().encode() if key.private_key else b""
        return _RingKey(key.kid, key.algorithm, secret, secret)
    private = None
    if key.private_key is not None:
        private = serialization.load_pem_private_key(
            key.private_key.get_secret_value().encode(), password=None
        )
    if key.public_key is not None:
        public = serialization.load_pem_public_key(key.public_key.encode())
    else:
        assert private is not None  # guaranteed by JwtKey validation
        public = private.public_key()
    return _RingKey(key.kid, key.algorithm, private, public)


class TokenSigner:
    """Issues and verifies access tokens against the configured key ring."""

    def __init__(self, settings: Settings) -> None:
        self._ring = {key.kid: _load(key) for key in settings.jwt_keys}
        self._active = self._ring[settings.signing_key.kid]
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl = timedelta(seconds=settings.access_token_ttl_seconds)
        self._leeway = settings.clock_skew_seconds

    @property
    def ttl_seconds(self) -> int:
        """Lifetime of new access tokens."""
        return int(self._ttl.total_seconds())

    def issue(self, subject: uuid.UUID, now: datetime) -> str:
        """Sign a new access token for a user."""
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(subject),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        headers = {"kid": self._active.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(
            claims, self._active.signing, algorithm=self._active.algorithm, headers=headers
        )

    def verify(self, token: str, now: datetime) -> AccessClaims:
        """Verify signature, type and registered claims; raise InvalidToken otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed access token") from exc
        key = self._ring.get(str(header.get("kid", "")))
        if key is None:
            raise InvalidToken("unknown signing key")
        if header.get("alg") != key.algorithm:
            raise InvalidToken("algorithm does not match the signing key")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token")
        try:
            claims = jwt.decode(
                token,
                key.verifying,
                algorithms=[key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={
                    "require": ["exp", "nbf", "iat", "iss", "aud", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid access token: {exc}") from exc
        return self._check_times(claims, now)

    def _check_times(self, claims: dict[str, Any], now: datetime) -> AccessClaims:
        # Times are checked against the injected clock, not the wall clock, so tests are exact.
        stamp = now.timestamp()
        try:
            exp, nbf, iat = (float(claims[name]) for name in ("exp", "nbf", "iat"))
            subject = uuid.UUID(str(claims["sub"]))
        except (TypeError, ValueError) as exc:
            raise InvalidToken("malformed claims") from exc
        if exp <= stamp - self._leeway:
            raise InvalidToken("access token expired")
        if nbf > stamp + self._leeway or iat > stamp + self._leeway:
            raise InvalidToken("access token not yet valid")
        return AccessClaims(
            subject=subject,
            token_id=str(claims.get("jti", "")),
            expires_at=datetime.fromtimestamp(exp, tz=now.tzinfo),
        )


def generate_jwt_key(kid: str) -> str:
    """A new Ed25519 key-ring entry as JSON, for `MODELPLANE_API_JWT_KEYS`."""
    private = ed25519.Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps({"kid": kid, "algorithm": "EdDSA", "private_key": pem})


def constant_time_equal(left: str, right: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return hmac.compare_digest(left.encode(), right.encode())
