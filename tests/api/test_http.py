"""Every answer is an envelope with a request id — router errors, validation errors and crashes
included — plus health, readiness and metrics."""

from __future__ import annotations

import json
from typing import Any

import fastapi.dependencies.utils
import fastapi.routing
import pytest

from .conftest import Api, ApiFactory


async def test_success_envelope_carries_request_id_and_timestamp(api: Api) -> None:
    response = await api.client.get("/health", headers={"X-Request-ID": "abc-123"})
    body = response.json()
    assert response.headers["x-request-id"] == "abc-123"
    assert body["success"] is True
    assert body["data"] == {"status": "ok"}
    assert body["metadata"]["request_id"] == "abc-123"
    assert body["metadata"]["timestamp"]


async def test_an_unusable_request_id_is_replaced(api: Api) -> None:
    response = await api.client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert response.json()["metadata"]["request_id"] == response.headers["x-request-id"]


async def test_unknown_paths_answer_a_404_envelope(api: Api) -> None:
    response = await api.client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["metadata"]["request_id"] == response.headers["x-request-id"]


async def test_wrong_methods_answer_a_405_envelope_with_allow(api: Api) -> None:
    response = await api.client.put("/api/v1/auth/login", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]


async def test_validation_errors_are_reshaped_without_echoing_input(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": "tiny-pw", "display_name": "x"},
    )
    body = response.json()
    assert response.status_code == 422
    assert body["error"]["code"] == "validation_error"
    fields = {tuple(item["loc"]) for item in body["error"]["details"]}
    assert ("body", "email") in fields
    assert ("body", "password") in fields
    assert "tiny-pw" not in response.text


async def test_text_the_database_cannot_store_is_refused_naming_the_field(api: Api) -> None:
    # NUL is a valid JSON string (\u0000) that PostgreSQL refuses: a rule beyond the schema,
    # so 400; an unpaired surrogate (\udaae) is not valid Unicode text at all: pydantic's 422.
    for bad, status in (("nul\x00inside", 400), ("lone \udaae surrogate", 422)):
        body = {"email": "t@example.com", "password": "long enough pw", "display_name": bad}
        response = await api.client.post(
            "/api/v1/auth/register",
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert {tuple(item["loc"]) for item in error["details"]} == {("body", "display_name")}


async def test_a_query_value_the_database_refuses_is_a_400_not_a_500(api: Api) -> None:
    user = await api.register("nul")
    org = await api.create_org(user)
    response = await api.client.get(
        "/api/v1/audit-events",
        headers=user["headers"],
        params={"organization_id": org["id"], "filter[action]": "a\x00b"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


async def test_malformed_json_is_a_422_envelope(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["success"] is False


async def test_a_crash_answers_500_without_a_stack_trace(api: Api) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internals")

    api.app.add_api_route("/boom", boom)
    response = await api.client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "internal server error",
        "details": None,
    }
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


async def test_oversized_bodies_are_refused_before_parsing(api: Api) -> None:
    big = b"x" * (api.settings.max_body_bytes + 1)
    response = await api.client.post(
        "/api/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_ready_checks_postgres_and_redis(api: Api) -> None:
    response = await api.client.get("/ready")
    assert response.status_code == 200
    assert response.json()["data"]["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    user = await api.register("m")
    await api.client.get("/api/v1/auth/me", headers=user["headers"])
    text = (await api.client.get("/metrics")).text
    assert 'route="/api/v1/auth/me",status="200"' in text
    assert "modelplane_api_request_duration_seconds_bucket" in text


async def test_an_exhausted_database_pool_answers_503_not_500(make_api: ApiFactory) -> None:
    api: Api = await make_api(db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.2)
    user = await api.register("patient")
    async with api.app.state.ctx.engine.connect():  # hold the only connection
        response = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    after = await api.client.get("/api/v1/auth/me", headers=user["headers"])
    assert after.status_code == 200


async def test_read_sessions_autocommit_and_leave_write_sessions_transactional(
    make_api: ApiFactory,
) -> None:
    api: Api = await make_api(db_pool_size=1, db_max_overflow=0)
    ctx = api.app.state.ctx
    async with ctx.read_sessions() as session:
        raw = await (await session.connection()).get_raw_connection()
        read_autocommit = raw.driver_connection.autocommit
    async with ctx.sessions() as session:  # the same pooled connection, given back
        raw = await (await session.connection()).get_raw_connection()
        write_autocommit = raw.driver_connection.autocommit
    assert read_autocommit is True
    assert write_autocommit is False


async def test_requests_never_hand_work_to_a_thread(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI runs a plain `def` dependency or route in a worker thread: a hand-off that costs
    more than these dependencies' work (about 0.1–0.5 ms each on a busy machine). Every
    dependency and route on these paths is `async def`."""
    admin = await api.register()
    org = await api.create_org(admin)
    key = await api.create_api_key(admin, org["id"], "developer")
    handed: list[str] = []

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(func, "__qualname__", repr(func)))
        return func(*args, **kwargs)

    monkeypatch.setattr(fastapi.dependencies.utils, "run_in_threadpool", counted)
    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", counted)
    base = f"/api/v1/organizations/{org['id']}"
    project = await api.create_project(admin, org["id"])
    calls = [
        ("GET", "/health", {}),
        ("GET", "/api/v1/auth/me", admin["headers"]),
        ("GET", f"{base}/projects?filter[name]={project['name']}", admin["headers"]),
        ("GET", f"{base}/projects", {"Authorization": f"Bearer {key['key']}"}),
        ("GET", f"{base}/api-keys?page=1&limit=5", admin["headers"]),
        ("GET", f"/api/v1/audit-events?organization_id={org['id']}", admin["headers"]),
        ("GET", f"{base}/models", admin["headers"]),
    ]
    for method, path, headers in calls:
        response = await api.client.request(method, path, headers=headers)
        assert response.status_code == 200, (path, response.text)
    assert handed == []
