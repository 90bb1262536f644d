"""Settings refuse weak or missing secrets and read `MODELPLANE_API_*` variables."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from modelplane_api.security import generate_jwt_key
from modelplane_api.settings import Settings
from modelplane_crds.serving import ServingLimits

from .conftest import make_settings


@pytest.mark.parametrize("secret", ["", "short", "a" * 64, "changeme" * 2])
def test_weak_hmac_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="HS256"):
        make_settings(jwt_keys=[{"kid": "h", "algorithm": "HS256", "private_key": secret}])


def test_a_long_random_hmac_secret_is_accepted() -> None:
    settings = make_settings(
        jwt_keys=[
            {"kid": "h", "algorithm": "HS256", "private_key": "Zx8#kP2!qL9@wR4$tY7%uI1^oE6&aS3*"}
        ]
    )
    assert settings.signing_key.kid == "h"


def test_missing_key_ring_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPLANE_API_DATABASE_URL", "postgresql+psycopg://x@h/db")
    monkeypatch.setenv("MODELPLANE_API_REDIS_URL", "redis://h:6379/0")
    monkeypatch.delenv("MODELPLANE_API_JWT_KEYS", raising=False)
    with pytest.raises(ValidationError, match="jwt_keys"):
        Settings()


def test_settings_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPLANE_API_DATABASE_URL", "postgresql+psycopg://x@h/db")
    monkeypatch.setenv("MODELPLANE_API_REDIS_URL", "redis://h:6379/0")
    monkeypatch.setenv("MODELPLANE_API_JWT_KEYS", f"[{generate_jwt_key('env-key')}]")
    monkeypatch.setenv("MODELPLANE_API_RATE_LIMIT_AUTH_PER_IP", "7")
    settings = Settings()
    assert settings.signing_key.kid == "env-key"
    assert settings.rate_limit_auth_per_ip == 7


def test_duplicate_kids_are_refused() -> None:
    key = json.loads(generate_jwt_key("same"))
    with pytest.raises(ValidationError, match="unique"):
        make_settings(jwt_keys=[key, key])


def test_an_active_kid_that_is_not_in_the_ring_is_refused() -> None:
    with pytest.raises(ValidationError, match="not in jwt_keys"):
        make_settings(jwt_active_kid="ghost")


def test_unsupported_algorithms_are_refused() -> None:
    key = json.loads(generate_jwt_key("k"))
    key["algorithm"] = "none"
    with pytest.raises(ValidationError):
        make_settings(jwt_keys=[key])


def test_onnx_limits_have_the_operator_and_runtime_names_and_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = ServingLimits()
    settings = make_settings()
    assert (settings.max_nodes, settings.allowed_domains) == (
        defaults.max_nodes,
        defaults.allowed_domains,
    )
    monkeypatch.setenv("MODELPLANE_API_MAX_NODES", "7")
    monkeypatch.setenv("MODELPLANE_API_ALLOWED_DOMAINS", '["", "ai.onnx"]')
    settings = make_settings()
    assert (settings.max_nodes, settings.allowed_domains) == (7, ("", "ai.onnx"))


def test_the_old_onnx_limit_names_are_honoured_unless_the_new_ones_are_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELPLANE_API_ONNX_MAX_NODES", "9")
    monkeypatch.setenv("MODELPLANE_API_ONNX_ALLOWED_DOMAINS", '["ai.onnx"]')
    old = make_settings()
    assert (old.max_nodes, old.allowed_domains) == (9, ("ai.onnx",))
    monkeypatch.setenv("MODELPLANE_API_MAX_NODES", "11")
    assert make_settings().max_nodes == 11
