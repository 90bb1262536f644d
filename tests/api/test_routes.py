"""Thin routes: no `/api/v1` route takes the raw request, and what the dependencies and the
services' get-or-404 helpers took over still answers exactly as before (same 400 for an
unknown filter, same 404 message per resource)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from modelplane_api.main import create_app

from .conftest import Api, make_settings


def test_no_api_route_takes_the_request() -> None:
    """The audit context, the caller, filters and rate limits all arrive as dependencies."""
    app = create_app(make_settings())
    taking = [
        f"{sorted(context.original_route.methods or ())} {context.path}"
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and str(context.path).startswith("/api/v1")
        and context.original_route.dependant.request_param_name is not None
    ]
    assert taking == []


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/organizations", ["filter[slug]"]),
        ("/organizations/{org}/members", ["filter[role]"]),
        ("/organizations/{org}/projects", ["filter[name]"]),
        ("/organizations/{org}/api-keys", ["filter[role]"]),
    ],
)
async def test_an_unknown_filter_answers_400_naming_the_allowed_ones(
    api: Api, path: str, allowed: list[str]
) -> None:
    admin = await api.register("admin")
    org = await api.create_org(admin)
    response = await api.client.get(
        "/api/v1" + path.format(org=org["id"]),
        headers=admin["headers"],
        params={"filter[password_hash]": "x"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"] == "unknown filter 'filter[password_hash]'"
    assert error["details"] == {"allowed": allowed}


async def test_a_missing_resource_answers_one_404_message_per_resource(api: Api) -> None:
    admin = await api.register("admin")
    org = await api.create_org(admin)
    base, missing = f"/api/v1/organizations/{org['id']}", uuid.uuid4()
    calls = [
        ("GET", f"{base}/projects/{missing}", None, "project not found"),
        ("PATCH", f"{base}/projects/{missing}", {"description": "d"}, "project not found"),
        ("DELETE", f"{base}/projects/{missing}", None, "project not found"),
        ("PATCH", f"{base}/members/{missing}", {"role": "viewer"}, "member not found"),
        ("DELETE", f"{base}/members/{missing}", None, "member not found"),
        ("DELETE", f"{base}/api-keys/{missing}", None, "API key not found"),
        (
            "POST",
            f"{base}/members",
            {"email": f"nobody-{missing.hex[:8]}@example.com", "role": "viewer"},
            "no user with this email",
        ),
    ]
    answers = []
    for method, url, body, _ in calls:
        response = await api.client.request(method, url, json=body, headers=admin["headers"])
        error = response.json()["error"]
        answers.append((method, url, body, response.status_code, error["code"], error["message"]))
    assert answers == [
        (method, url, body, 404, "not_found", message) for method, url, body, message in calls
    ]
