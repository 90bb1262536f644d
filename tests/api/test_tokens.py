"""Access-token signing and the attacks the verifier must refuse (RFC 8725, security.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from modelplane_api.errors import InvalidToken
from modelplane_api.security import TokenSigner, generate_jwt_key
from modelplane_api.settings import Settings

from .conftest import make_settings

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_key(kid: str) -> tuple[dict[str, Any], str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {"kid": kid, "algorithm": "RS256", "private_key": pem}, public


def claims(**overrides: Any) -> dict[str, Any]:
    stamp = int(NOW.timestamp())
    values: dict[str, Any] = {
        "iss": "modelplane",
        "aud": "modelplane-api",
        "sub": str(SUBJECT),
        "iat": stamp,
        "nbf": stamp,
        "exp": stamp + 600,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def private_pem(settings: Settings, kid: str) -> str:
    key = next(key for key in settings.jwt_keys if key.kid == kid)
    assert key.private_key is not None
    return key.private_key.get_secret_value()


@pytest.fixture
def settings() -> Settings:
    return make_settings()


def test_issued_token_verifies_and_names_its_subject(settings: Settings) -> None:
    signer = TokenSigner(settings)
    token = signer.issue(SUBJECT, NOW)
    verified = signer.verify(token, NOW + timedelta(seconds=5))
    assert verified.subject == SUBJECT
    header = jwt.get_unverified_header(token)
    assert header["kid"] == "test-1"
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "EdDSA"


def test_token_with_alg_none_is_rejected(settings: Settings) -> None:
    header = {"alg": "none", "kid": "test-1", "typ": "at+jwt"}
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}."
    with pytest.raises(InvalidToken):
        TokenSigner(settings).verify(token, NOW)


def test_hmac_token_signed_with_the_rsa_public_key_is_rejected() -> None:
    key, public_pem = rsa_key("rsa-1")
    signer = TokenSigner(make_settings(jwt_keys=[key]))
    header = {"alg": "HS256", "kid": "rsa-1", "typ": "at+jwt"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="algorithm"):
        signer.verify(f"{signing_input}.{b64(signature)}", NOW)


def test_rsa_key_ring_accepts_its_own_rs256_tokens() -> None:
    key, _ = rsa_key("rsa-1")
    signer = TokenSigner(make_settings(jwt_keys=[key]))
    assert signer.verify(signer.issue(SUBJECT, NOW), NOW).subject == SUBJECT


def test_token_with_an_unknown_kid_is_rejected(settings: Settings) -> None:
    token = jwt.encode(
        claims(),
        private_pem(settings, "test-1"),
        algorithm="EdDSA",
        headers={
            "kid": "someone-else",
            "typ": "at+jwt",
            "jku": "https://attacker.example/jwks.json",
        },
    )
    with pytest.raises(InvalidToken, match="unknown signing key"):
        TokenSigner(settings).verify(token, NOW)


def test_token_signed_by_a_foreign_key_under_our_kid_is_rejected(settings: Settings) -> None:
    foreign = json.loads(generate_jwt_key("test-1"))["private_key"]
    token = jwt.encode(
        claims(), foreign, algorithm="EdDSA", headers={"kid": "test-1", "typ": "at+jwt"}
    )
    with pytest.raises(InvalidToken):
        TokenSigner(settings).verify(token, NOW)


def test_expired_token_is_rejected(settings: Settings) -> None:
    signer = TokenSigner(settings)
    token = signer.issue(SUBJECT, NOW)
    later = NOW + timedelta(
        seconds=settings.access_token_ttl_seconds + settings.clock_skew_seconds + 1
    )
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(token, later)


def test_token_that_is_not_yet_valid_is_rejected(settings: Settings) -> None:
    signer = TokenSigner(settings)
    token = signer.issue(SUBJECT, NOW + timedelta(hours=1))
    with pytest.raises(InvalidToken, match="not yet valid"):
        signer.verify(token, NOW)


@pytest.mark.parametrize(("claim", "value"), [("aud", "another-api"), ("iss", "evil")])
def test_token_for_another_audience_or_issuer_is_rejected(
    settings: Settings, claim: str, value: str
) -> None:
    token = jwt.encode(
        claims(**{claim: value}),
        private_pem(settings, "test-1"),
        algorithm="EdDSA",
        headers={"kid": "test-1", "typ": "at+jwt"},
    )
    with pytest.raises(InvalidToken):
        TokenSigner(settings).verify(token, NOW)


@pytest.mark.parametrize("missing", ["exp", "nbf", "iat", "iss", "aud", "sub"])
def test_token_missing_a_required_claim_is_rejected(settings: Settings, missing: str) -> None:
    token = jwt.encode(
        claims(**{missing: None}),
        private_pem(settings, "test-1"),
        algorithm="EdDSA",
        headers={"kid": "test-1", "typ": "at+jwt"},
    )
    with pytest.raises(InvalidToken):
        TokenSigner(settings).verify(token, NOW)


def test_tampered_payload_is_rejected(settings: Settings) -> None:
    signer = TokenSigner(settings)
    header, _, signature = signer.issue(SUBJECT, NOW).split(".")
    forged = claims(sub=str(uuid.uuid4()))
    with pytest.raises(InvalidToken):
        signer.verify(f"{header}.{b64(json.dumps(forged).encode())}.{signature}", NOW)


@pytest.mark.parametrize("typ", [None, "JWT", "refresh+jwt"])
def test_token_that_is_not_typed_as_an_access_token_is_rejected(
    settings: Settings, typ: str | None
) -> None:
    headers = {"kid": "test-1"} if typ is None else {"kid": "test-1", "typ": typ}
    token = jwt.encode(
        claims(), private_pem(settings, "test-1"), algorithm="EdDSA", headers=headers
    )
    if typ is None:  # PyJWT adds typ=JWT by default; remove it entirely
        head, body, sig = token.split(".")
        raw = json.loads(base64.urlsafe_b64decode(head + "=="))
        raw.pop("typ", None)
        token = f"{b64(json.dumps(raw).encode())}.{body}.{sig}"
    with pytest.raises(InvalidToken):
        TokenSigner(settings).verify(token, NOW)


def test_garbage_is_rejected_as_malformed(settings: Settings) -> None:
    with pytest.raises(InvalidToken):
        TokenSigner(settings).verify("not-a-jwt", NOW)


def test_rotation_keeps_tokens_of_the_previous_key_valid_until_it_is_removed() -> None:
    old = json.loads(generate_jwt_key("old"))
    new = json.loads(generate_jwt_key("new"))
    token = TokenSigner(make_settings(jwt_keys=[old])).issue(SUBJECT, NOW)

    rotated = TokenSigner(make_settings(jwt_keys=[new, old], jwt_active_kid="new"))
    assert rotated.verify(token, NOW).subject == SUBJECT
    assert jwt.get_unverified_header(rotated.issue(SUBJECT, NOW))["kid"] == "new"

    retired = TokenSigner(make_settings(jwt_keys=[new]))
    with pytest.raises(InvalidToken, match="unknown signing key"):
        retired.verify(token, NOW)


def test_a_verify_only_key_can_check_tokens_but_not_sign() -> None:
    old_private = json.loads(generate_jwt_key("old"))
    public = (
        serialization.load_pem_private_key(old_private["private_key"].encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = TokenSigner(make_settings(jwt_keys=[old_private])).issue(SUBJECT, NOW)
    new = json.loads(generate_jwt_key("new"))
    ring = make_settings(jwt_keys=[new, {"kid": "old", "algorithm": "EdDSA", "public_key": public}])
    assert TokenSigner(ring).verify(token, NOW).subject == SUBJECT
    with pytest.raises(ValueError, match="no key with a private key"):
        make_settings(jwt_keys=[{"kid": "old", "algorithm": "EdDSA", "public_key": public}])
