"""Audit log: exactly one event per mutating request, in the change's transaction; append-only;
readable by admins with cursor pagination and filters."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from modelplane_api.audit.models import AuditEvent

from .catalog import World, build_world
from .conftest import PASSWORD, Api, version_form

UPLOAD: dict[str, Any] = {}
"""Marks a case whose body is the multipart form of a version upload."""


def audited_routes(api: Api) -> set[str]:
    """Routes that record an audit event (not those exempt from it, such as inference)."""
    found = set()
    for context in iter_route_contexts(api.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and "action" in (route.openapi_extra or {}).get(
            "x-audit", {}
        ):
            found |= {f"{method} {context.path}" for method in route.methods or ()}
    return found


async def events_of(api: Api, request_id: str) -> list[AuditEvent]:
    async with api.app.state.ctx.sessions() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.request_id == request_id))
        return list(rows)


async def call(
    api: Api,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
) -> tuple[str, int]:
    request_id = f"test-{uuid.uuid4().hex}"
    response = await api.client.request(
        method,
        url,
        json=body,
        files=files,
        headers={**(headers or {}), "X-Request-ID": request_id},
    )
    assert response.headers["x-request-id"] == request_id
    return request_id, response.status_code


async def mutating_cases(
    api: Api, world: World
) -> dict[str, tuple[str, str, dict[str, str] | None, dict[str, Any] | None]]:
    """One successful call per audited route: key → (method, url, headers, body)."""
    admin, org = world.admin, world.org_id
    fresh = await api.register("fresh")
    spare = await api.register("spare")
    await api.add_member(admin, org, spare, "viewer")
    base = f"/api/v1/organizations/{org}"
    return {
        "POST /api/v1/auth/register": (
            "POST",
            "/api/v1/auth/register",
            None,
            {
                "email": f"r-{uuid.uuid4().hex[:8]}@example.com",
                "password": PASSWORD,
                "display_name": "R",
            },
        ),
        "POST /api/v1/auth/login": (
            "POST",
            "/api/v1/auth/login",
            None,
            {"email": admin["email"], "password": PASSWORD},
        ),
        "POST /api/v1/auth/refresh": (
            "POST",
            "/api/v1/auth/refresh",
            None,
            {"refresh_token": fresh["refresh_token"]},
        ),
        "POST /api/v1/auth/logout": (
            "POST",
            "/api/v1/auth/logout",
            None,
            {"refresh_token": admin["refresh_token"]},
        ),
        "POST /api/v1/organizations": (
            "POST",
            "/api/v1/organizations",
            admin["headers"],
            {"slug": f"o-{uuid.uuid4().hex[:8]}", "display_name": "O"},
        ),
        "PATCH /api/v1/organizations/{org_id}": (
            "PATCH",
            base,
            admin["headers"],
            {"display_name": "Renamed"},
        ),
        "POST /api/v1/organizations/{org_id}/members": (
            "POST",
            f"{base}/members",
            admin["headers"],
            {"email": world.outsider["email"], "role": "developer"},
        ),
        "PATCH /api/v1/organizations/{org_id}/members/{user_id}": (
            "PATCH",
            f"{base}/members/{world.member['id']}",
            admin["headers"],
            {"role": "admin"},
        ),
        "DELETE /api/v1/organizations/{org_id}/members/{user_id}": (
            "DELETE",
            f"{base}/members/{spare['id']}",
            admin["headers"],
            None,
        ),
        "POST /api/v1/organizations/{org_id}/projects": (
            "POST",
            f"{base}/projects",
            admin["headers"],
            {"name": "audited"},
        ),
        "PATCH /api/v1/organizations/{org_id}/projects/{project_id}": (
            "PATCH",
            f"{base}/projects/{world.project_id}",
            admin["headers"],
            {"description": "after"},
        ),
        "DELETE /api/v1/organizations/{org_id}/projects/{project_id}": (
            "DELETE",
            f"{base}/projects/{world.project_id}",
            admin["headers"],
            None,
        ),
        "POST /api/v1/organizations/{org_id}/api-keys": (
            "POST",
            f"{base}/api-keys",
            admin["headers"],
            {"name": "ci", "role": "viewer"},
        ),
        "DELETE /api/v1/organizations/{org_id}/api-keys/{key_id}": (
            "DELETE",
            f"{base}/api-keys/{world.key_id}",
            admin["headers"],
            None,
        ),
        "POST /api/v1/organizations/{org_id}/models": (
            "POST",
            f"{base}/models",
            admin["headers"],
            {"name": f"audited-{uuid.uuid4().hex[:6]}"},
        ),
        "PATCH /api/v1/organizations/{org_id}/models/{model_id}": (
            "PATCH",
            f"{base}/models/{world.model_id}",
            admin["headers"],
            {"tags": {"team": "risk"}},
        ),
        "POST /api/v1/organizations/{org_id}/models/{model_id}/versions": (
            "POST",
            f"{base}/models/{world.model_id}/versions",
            admin["headers"],
            UPLOAD,
        ),
        "POST /api/v1/organizations/{org_id}/models/{model_id}/versions/from-run": (
            "POST",
            f"{base}/models/{world.model_id}/versions/from-run",
            admin["headers"],
            {"run_id": world.run_id},
        ),
        "POST /api/v1/organizations/{org_id}/monitors": (
            "POST",
            f"{base}/monitors",
            admin["headers"],
            {"name": "audited", "spec": {"deploymentRef": {"name": "serving"}}},
        ),
        "PUT /api/v1/organizations/{org_id}/monitors/{name}": (
            "PUT",
            f"{base}/monitors/{world.monitor}",
            admin["headers"],
            {"spec": {"deploymentRef": {"name": "serving"}, "schedule": "*/30 * * * *"}},
        ),
        "POST /api/v1/organizations/{org_id}/deployments": (
            "POST",
            f"{base}/deployments",
            admin["headers"],
            {"version_id": world.version_id, "name": "audited"},
        ),
        "PATCH /api/v1/organizations/{org_id}/deployments/{name}": (
            "PATCH",
            f"{base}/deployments/{world.deployment}",
            admin["headers"],
            {"payload_logging": {"sampleRate": 0.5}},
        ),
        "POST /api/v1/organizations/{org_id}/deployments/{name}/rollouts": (
            "POST",
            f"{base}/deployments/{world.deployment}/rollouts",
            admin["headers"],
            {"version_id": world.version2_id},
        ),
        "POST /api/v1/organizations/{org_id}/deployments/{name}/feedback": (
            "POST",
            f"{base}/deployments/{world.deployment}/feedback",
            admin["headers"],
            {"rows": [{"request_id": "r-9", "value": 2.5, "observed_at": "2026-12-07T05:00:00Z"}]},
        ),
        "POST /api/v1/organizations/{org_id}/deployments/{name}/promote-to-production": (
            "POST",
            f"{base}/deployments/{world.deployment}/promote-to-production",
            admin["headers"],
            {"reason": "signed off"},
        ),
        "POST /api/v1/organizations/{org_id}/deployments/{name}/promote": (
            "POST",
            f"{base}/deployments/{world.rolling}/promote",
            admin["headers"],
            {"reason": "looks good"},
        ),
        "POST /api/v1/organizations/{org_id}/deployments/{name}/pause": (
            "POST",
            f"{base}/deployments/{world.rolling}/pause",
            admin["headers"],
            {"reason": "looking at the p99"},
        ),
        "POST /api/v1/organizations/{org_id}/deployments/{name}/resume": (
            "POST",
            f"{base}/deployments/{world.rolling}/resume",
            admin["headers"],
            None,
        ),
        "POST /api/v1/organizations/{org_id}/deployments/{name}/rollback": (
            "POST",
            f"{base}/deployments/{world.rolling}/rollback",
            admin["headers"],
            {"reason": "p99 too high"},
        ),
        "DELETE /api/v1/organizations/{org_id}/deployments/{name}": (
            "DELETE",
            f"{base}/deployments/{world.deployment}",
            admin["headers"],
            None,
        ),
        "DELETE /api/v1/organizations/{org_id}/monitors/{name}": (
            "DELETE",
            f"{base}/monitors/{world.monitor}",
            admin["headers"],
            None,
        ),
        "DELETE /api/v1/organizations/{org_id}/models/{model_id}": (
            "DELETE",
            f"{base}/models/{world.model_id}",
            admin["headers"],
            None,
        ),
        "POST /api/v1/organizations/{org_id}/experiments": (
            "POST",
            f"{base}/experiments",
            admin["headers"],
            {"name": f"audited-{uuid.uuid4().hex[:6]}"},
        ),
        "PATCH /api/v1/organizations/{org_id}/experiments/{experiment_id}": (
            "PATCH",
            f"{base}/experiments/{world.experiment_id}",
            admin["headers"],
            {"name": f"renamed-{uuid.uuid4().hex[:6]}"},
        ),
        "DELETE /api/v1/organizations/{org_id}/experiments/{experiment_id}": (
            "DELETE",
            f"{base}/experiments/{world.experiment_id}",
            admin["headers"],
            None,
        ),
    }


async def test_every_mutating_route_leaves_exactly_one_success_event(api: Api) -> None:
    world = await build_world(api)
    cases = await mutating_cases(api, world)
    assert set(cases) == audited_routes(api)
    problems = []
    for key, (method, url, headers, body) in cases.items():
        files = version_form() if body is UPLOAD else None
        request_id, status = await call(
            api, method, url, headers=headers, body=None if files else body, files=files
        )
        events = await events_of(api, request_id)
        if status >= 300 or len(events) != 1 or events[0].outcome != "success":
            problems.append(f"{key}: status {status}, events {[e.outcome for e in events]}")
            continue
        event = events[0]
        assert event.action
        assert event.resource_type
        assert event.status_code == status
        assert event.ip == "127.0.0.1"
    assert problems == []


async def test_an_update_event_records_before_and_after(api: Api) -> None:
    world = await build_world(api)
    request_id, status = await call(
        api,
        "PATCH",
        f"/api/v1/organizations/{world.org_id}/projects/{world.project_id}",
        headers=world.admin["headers"],
        body={"description": "new text"},
    )
    assert status == 200
    (event,) = await events_of(api, request_id)
    assert event.action == "project.update"
    assert event.organization_id == uuid.UUID(world.org_id)
    assert event.actor_id == uuid.UUID(world.admin["id"])
    assert event.resource_id == world.project_id
    assert event.before is not None
    assert event.after is not None
    assert event.before["description"] == "d"
    assert event.after["description"] == "new text"


async def test_a_failure_at_commit_is_still_audited(api: Api) -> None:
    """A deferred constraint trigger makes COMMIT itself fail (as a serialization failure or a
    lost connection would): the change and its success event are gone, a failure event stays."""
    world = await build_world(api)
    name = f"commit-fails-{uuid.uuid4().hex[:6]}"
    engine = api.app.state.ctx.engine
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION test_refuse_at_commit() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN IF NEW.name LIKE 'commit-fails-%' THEN "
                "RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                "CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER INSERT ON projects "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION test_refuse_at_commit()"
            )
        )
    try:
        request_id, status = await call(
            api,
            "POST",
            f"/api/v1/organizations/{world.org_id}/projects",
            headers=world.admin["headers"],
            body={"name": name},
        )
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER test_refuse_at_commit ON projects"))
    assert status == 500
    events = await events_of(api, request_id)
    assert [(e.outcome, e.status_code, e.action) for e in events] == [
        ("failure", 500, "project.create")
    ]
    listed = await api.client.get(
        f"/api/v1/organizations/{world.org_id}/projects",
        headers=world.admin["headers"],
        params={"filter[name]": name},
    )
    assert listed.json()["data"] == []


async def test_a_denied_request_leaves_one_denied_event_and_no_change(api: Api) -> None:
    world = await build_world(api)
    request_id, status = await call(
        api,
        "POST",
        f"/api/v1/organizations/{world.org_id}/projects",
        headers=world.member["headers"],
        body={"name": "sneaky"},
    )
    assert status == 403
    (event,) = await events_of(api, request_id)
    assert (event.outcome, event.status_code, event.error_code) == (
        "denied",
        403,
        "permission_denied",
    )
    assert event.organization_id == uuid.UUID(world.org_id)
    listed = await api.client.get(
        f"/api/v1/organizations/{world.org_id}/projects",
        headers=world.admin["headers"],
        params={"filter[name]": "sneaky"},
    )
    assert listed.json()["meta"]["total"] == 0


async def test_an_invalid_request_leaves_one_failure_event(api: Api) -> None:
    world = await build_world(api)
    request_id, status = await call(
        api,
        "POST",
        f"/api/v1/organizations/{world.org_id}/projects",
        headers=world.admin["headers"],
        body={"name": ""},
    )
    assert status == 422
    (event,) = await events_of(api, request_id)
    assert (event.outcome, event.error_code) == ("failure", "validation_error")


async def test_reads_leave_no_event(api: Api) -> None:
    world = await build_world(api)
    request_id, status = await call(
        api, "GET", f"/api/v1/organizations/{world.org_id}", headers=world.admin["headers"]
    )
    assert status == 200
    assert await events_of(api, request_id) == []


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
async def test_the_database_refuses_to_change_audit_events(api: Api, statement: str) -> None:
    await build_world(api)
    async with api.app.state.ctx.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            await conn.execute(text(statement))


async def test_admins_page_through_events_by_cursor_with_filters(api: Api) -> None:
    world = await build_world(api)
    for _ in range(5):
        await api.create_project(world.admin, world.org_id)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {
            "organization_id": world.org_id,
            "limit": 2,
            "filter[action]": "project.create",
        }
        if cursor:
            params["cursor"] = cursor
        response = await api.client.get(
            "/api/v1/audit-events", params=params, headers=world.admin["headers"]
        )
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [event["id"] for event in body["data"]]
        assert all(event["action"] == "project.create" for event in body["data"])
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6  # the world's project plus five


async def test_unknown_audit_filters_are_a_bad_request(api: Api) -> None:
    world = await build_world(api)
    response = await api.client.get(
        "/api/v1/audit-events",
        headers=world.admin["headers"],
        params={"organization_id": world.org_id, "filter[ip]": "1.2.3.4"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_every_mutating_operation_of_the_openapi_document_is_audited(api: Api) -> None:
    """Read from the published document, so a route added without `audited(...)` fails here."""
    document = api.app.openapi()
    unaudited = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in {"post", "put", "patch", "delete"} and "x-audit" not in operation
    ]
    assert unaudited == []
    assert len(document["paths"]) >= 20
