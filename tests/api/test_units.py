"""Pure pieces of the facade: permission table, envelope, cursors, list helpers, passwords,
the Organization resource builder and the recording cluster gateway."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from sqlalchemy import Column, Integer, String

from modelplane_api.audit.service import decode_cursor, encode_cursor
from modelplane_api.cluster import ORGANIZATION, ResourceKind
from modelplane_api.envelope import error_body, page
from modelplane_api.errors import BadRequest, RateLimited, ServiceUnavailable
from modelplane_api.metrics import Metrics
from modelplane_api.organizations.models import Organization
from modelplane_api.organizations.resources import build_organization_resource
from modelplane_api.pagination import PageParams, order_by
from modelplane_api.permissions import ROLE_PERMISSIONS, Permission, Role, allows
from modelplane_api.ratelimit import Limit, RateLimiter
from modelplane_crds.organization import api_key_identity, user_identity
from tests.api.fakes import RecordingClusterGateway, UnexpectedClusterCallError

from .conftest import fast_passwords


def test_admin_holds_every_permission() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)


def test_roles_are_strictly_nested_viewer_developer_admin() -> None:
    assert ROLE_PERMISSIONS[Role.VIEWER] < ROLE_PERMISSIONS[Role.DEVELOPER]
    assert ROLE_PERMISSIONS[Role.DEVELOPER] < ROLE_PERMISSIONS[Role.ADMIN]


@pytest.mark.parametrize(
    "permission",
    [
        Permission.MEMBER_CREATE,
        Permission.API_KEY_CREATE,
        Permission.AUDIT_READ,
        Permission.PROJECT_DELETE,
    ],
)
def test_developers_cannot_administer(permission: Permission) -> None:
    assert not allows(Role.DEVELOPER, permission)


def test_viewers_only_read() -> None:
    """Read, and call deployments (inference changes nothing): a viewer key is an inference key."""
    assert all(
        perm.value.endswith(":read") or perm is Permission.DEPLOYMENT_INFER
        for perm in ROLE_PERMISSIONS[Role.VIEWER]
    )


def test_error_envelope_has_code_message_details_and_metadata() -> None:
    body = error_body("not_found", "gone", {"id": 1})
    assert body["success"] is False
    assert body["error"] == {"code": "not_found", "message": "gone", "details": {"id": 1}}
    assert set(body["metadata"]) == {"timestamp", "request_id"}


@pytest.mark.parametrize(
    ("total", "limit", "pages"), [(0, 20, 0), (1, 20, 1), (20, 20, 1), (21, 20, 2), (101, 10, 11)]
)
def test_page_meta_counts_pages(total: int, limit: int, pages: int) -> None:
    assert page([], page=1, limit=limit, total=total).meta.pages == pages


def test_page_params_offset() -> None:
    assert PageParams(page=3, limit=25).offset == 50


def test_order_by_descending_adds_a_descending_tiebreak() -> None:
    name, ident = Column("name", String), Column("id", Integer)
    clauses = order_by("-name", {"name": name}, ident)
    assert [str(clause) for clause in clauses] == ["name DESC", "id DESC"]


def test_cursor_round_trips() -> None:
    stamp = datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=UTC)
    ident = uuid.uuid4()
    assert decode_cursor(encode_cursor(stamp, ident)) == (stamp, ident)


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", "WzEsMl0"])
def test_forged_cursors_are_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor)


def test_passwords_verify_only_the_right_password() -> None:
    passwords = fast_passwords()
    stored = passwords.hash("s3cret-passphrase")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "s3cret-passphrase")
    assert not passwords.verify(stored, "wrong")


def test_unknown_user_check_runs_a_real_hash_and_fails() -> None:
    assert fast_passwords().verify(None, "anything") is False


def test_organization_resource_is_cluster_scoped_and_named_by_slug() -> None:
    org = Organization(id=uuid.uuid4(), slug="acme", display_name="Acme", description="")
    body = build_organization_resource(org)
    assert body["apiVersion"] == "modelplane.io/v1alpha1"
    assert body["kind"] == "Organization"
    assert body["metadata"]["name"] == "acme"
    assert "namespace" not in body["metadata"]
    assert body["metadata"]["annotations"]["modelplane.io/organization-id"] == str(org.id)
    assert body["spec"]["slug"] == "acme"
    assert body["spec"]["displayName"] == "Acme"


def test_organization_resource_names_one_group_per_role() -> None:
    org = Organization(id=uuid.uuid4(), slug="acme", display_name="Acme", description="")
    assert build_organization_resource(org)["spec"]["memberGroups"] == {
        "admin": ["modelplane:org:acme:admin"],
        "developer": ["modelplane:org:acme:developer"],
        "viewer": ["modelplane:org:acme:viewer"],
    }


def test_each_facade_principal_has_one_kubernetes_user_name() -> None:
    user_id = uuid.UUID("00000000-0000-0000-0000-000000000001")
    assert user_identity(user_id) == "modelplane:user:00000000-0000-0000-0000-000000000001"
    assert api_key_identity(user_id).startswith("modelplane:api-key:")


def test_cluster_scoped_path_has_no_namespace() -> None:
    assert ORGANIZATION.path("acme") == "/apis/modelplane.io/v1alpha1/organizations/acme"
    namespaced = ResourceKind("modelplane.io", "v1alpha1", "ModelVersion", "modelversions", True)
    assert namespaced.path("m", "mp-acme").endswith("/namespaces/mp-acme/modelversions/m")
    with pytest.raises(ValueError, match="namespaced"):
        namespaced.path("m")


async def test_recording_gateway_records_applies_and_serves_them_back() -> None:
    gateway = RecordingClusterGateway()
    body = {"metadata": {"name": "acme"}, "spec": {"slug": "acme"}}
    await gateway.apply(ORGANIZATION, body)
    assert gateway.applied == [(ORGANIZATION, body)]
    assert await gateway.get(ORGANIZATION, "acme") == body


async def test_recording_gateway_fails_on_calls_the_test_did_not_allow() -> None:
    gateway = RecordingClusterGateway(allow={"apply"})
    with pytest.raises(UnexpectedClusterCallError):
        await gateway.delete(ORGANIZATION, "acme")


async def test_recording_gateway_raises_the_configured_failure() -> None:
    gateway = RecordingClusterGateway()
    gateway.fail_with = RuntimeError("down")
    with pytest.raises(RuntimeError, match="down"):
        await gateway.apply(ORGANIZATION, {"metadata": {"name": "x"}})
    assert gateway.applied == []


async def _dead_limiter() -> tuple[RateLimiter, Metrics, Redis]:
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    metrics = Metrics()
    return RateLimiter(redis, metrics), metrics, redis


async def test_ordinary_limits_fail_open_when_redis_is_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter, metrics, redis = await _dead_limiter()
    await limiter.hit(Limit("ip", 1, 60), "10.0.0.1")
    await redis.aclose()
    value = metrics.registry.get_sample_value(
        "modelplane_api_rate_limit_backend_errors_total", {"bucket": "ip", "decision": "allowed"}
    )
    assert value == 1.0
    assert any("allowing" in record.getMessage() for record in caplog.records)


async def test_auth_limits_fail_closed_when_redis_is_down() -> None:
    limiter, metrics, redis = await _dead_limiter()
    with pytest.raises(ServiceUnavailable):
        await limiter.hit(Limit("auth", 1, 60, fail_closed=True), "10.0.0.1")
    await redis.aclose()
    value = metrics.registry.get_sample_value(
        "modelplane_api_rate_limit_backend_errors_total", {"bucket": "auth", "decision": "refused"}
    )
    assert value == 1.0


def test_rate_limited_error_carries_retry_after() -> None:
    error = RateLimited(17)
    assert error.status_code == 429
    assert error.headers == {"Retry-After": "17"}
