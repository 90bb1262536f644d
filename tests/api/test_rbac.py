"""Role × route matrix generated from the permission table: allowed → 2xx, otherwise 403.

Each allowed write runs on a fresh organization so a DELETE in one cell cannot change another's
answer; reads and refused calls share one.
Callers are members (JWT) and API keys of each role, full and inference-scoped (an inference key
reaches only the inference and feedback routes its role allows).
"""

from __future__ import annotations

import pytest

from modelplane_api.permissions import KeyScope, Role, allows
from tests.runtime.conftest import RuntimeProcess

from .catalog import KNOWN_ROUTES, World, build_world, files_for, org_routes, request_for
from .conftest import Api

ROUTES = org_routes()


def test_every_org_route_has_a_recipe() -> None:
    assert {route.key for route in ROUTES} == KNOWN_ROUTES


@pytest.mark.parametrize("kind", ["member", "api_key", "inference_key"])
@pytest.mark.parametrize("role", list(Role))
async def test_role_matrix_matches_the_permission_table(
    api: Api, serving_runtime: RuntimeProcess, role: Role, kind: str
) -> None:
    scope = KeyScope.INFERENCE if kind == "inference_key" else KeyScope.FULL
    mismatches = []
    callers: dict[str, dict[str, str]] = {}
    shared_world = None
    """Reads and calls expected to be refused share one world: neither changes anything (and
    a call wrongly allowed is reported whatever it does to the world). Each allowed write gets
    a fresh one, so a DELETE cannot change another cell's answer."""

    async def caller_in(world: World) -> dict[str, str]:
        if world.org_id not in callers:
            if kind == "member":
                caller = await api.register(f"as-{role.value}")
                await api.add_member(world.admin, world.org_id, caller, role.value)
                callers[world.org_id] = caller["headers"]
            else:
                key = await api.create_api_key(world.admin, world.org_id, role.value, scope.value)
                callers[world.org_id] = {"Authorization": f"Bearer {key['key']}"}
        return callers[world.org_id]

    for route in ROUTES:
        allowed = allows(role, route.permission, scope)
        if allowed and route.method != "GET":
            world = await build_world(api, serving_runtime.url)
        else:
            shared_world = shared_world or await build_world(api, serving_runtime.url)
            world = shared_world
        url, body, query = request_for(route, world)
        response = await api.client.request(
            route.method, url, json=body, params=query, headers=await caller_in(world),
            files=files_for(route),
        )  # fmt: skip
        expected = route.success_status if allowed else 403
        if response.status_code != expected:
            mismatches.append(
                f"{route.key}: {response.status_code} != {expected} ({response.text[:200]})"
            )
    assert mismatches == []


async def test_any_signed_in_user_lists_and_creates_organizations(api: Api) -> None:
    user = await api.register("anyone")
    listed = await api.client.get("/api/v1/organizations", headers=user["headers"])
    assert listed.status_code == 200
    org = await api.create_org(user)
    assert org["role"] == "admin"
