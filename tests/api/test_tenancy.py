"""Cross-tenant matrix: a caller of organization A asking for organization B's ids gets 404 on
every organization-scoped route — never 403, never a hint that the resource exists."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.conftest import RuntimeProcess

from .catalog import World, build_world, files_for, org_routes, request_for
from .conftest import Api

ROUTES = org_routes()


async def _ask_everywhere(api: Api, headers: dict[str, str], own: World, other: World) -> list[str]:
    wrong = []
    for route in ROUTES:
        cases: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = [request_for(route, other)]
        if "{" in route.path.removeprefix("/api/v1/organizations/{org_id}"):
            cases.append(request_for(route, own, ids_from=other))  # own org, B's resource id
        for url, body, query in cases:
            response = await api.client.request(
                route.method, url, json=body, params=query, headers=headers, files=files_for(route)
            )
            if response.status_code != 404 or response.json()["error"]["code"] != "not_found":
                wrong.append(f"{route.method} {url}: {response.status_code}")
    return wrong


@pytest.mark.parametrize("kind", ["member", "api_key"])
async def test_other_organizations_resources_answer_404_everywhere(
    api: Api, serving_runtime: RuntimeProcess, kind: str
) -> None:
    # Both serve inference for real, so a call that reached B's deployment would answer 200.
    own, other = (
        await build_world(api, serving_runtime.url),
        await build_world(api, serving_runtime.url),
    )
    if kind == "member":
        headers = own.admin["headers"]
    else:
        key = await api.create_api_key(own.admin, own.org_id, "admin")
        headers = {"Authorization": f"Bearer {key['key']}"}
    assert await _ask_everywhere(api, headers, own, other) == []
    # B's resources are untouched by A's attempts.
    project = await api.client.get(
        f"/api/v1/organizations/{other.org_id}/projects/{other.project_id}",
        headers=other.admin["headers"],
    )
    assert project.status_code == 200
    assert project.json()["data"]["description"] != "new"


async def test_an_organization_list_shows_only_the_callers_organizations(api: Api) -> None:
    own, other = await build_world(api), await build_world(api)
    listed = await api.client.get(
        "/api/v1/organizations", headers=own.admin["headers"], params={"limit": 100}
    )
    ids = {org["id"] for org in listed.json()["data"]}
    assert own.org_id in ids
    assert other.org_id not in ids
