"""Property-based run of schemathesis over the whole OpenAPI of the facade, signed in as an org
admin: no 5xx, every response matches its documented schema and status codes, invalid input is
rejected, endpoints that declare auth refuse requests without it.

Positive cases use the admin's real organization id (so the organization routes are exercised
past the tenancy check); negative cases keep whatever schemathesis generated. The run is bounded
by `max_examples` per operation so it takes a minute or two.

Schema-valid requests may also answer 400 where a rule beyond the schema refuses them (an
`expires_at` in the past, a cursor we never issued); everything else is schemathesis' defaults.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from modelplane_api.main import create_app
from modelplane_api.settings import Settings
from tests.api.fakes import RecordingClusterGateway

from .conftest import PASSWORD, fast_passwords, make_settings

MAX_EXAMPLES = 12


@dataclass(frozen=True)
class FuzzWorld:
    settings: Settings
    token: str
    org_id: str


async def _prepare(fuzz_settings: Settings) -> FuzzWorld:
    # A separate app instance on its own event loop: the schemathesis app must not inherit
    # connections bound to this loop.
    app = create_app(fuzz_settings, gateway=RecordingClusterGateway(), passwords=fast_passwords())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://prep") as client:
        email = "fuzz-admin@example.com"
        await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Fuzz"},
        )
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["data"]["access_token"]
        orgs = await client.get(
            "/api/v1/organizations",
            headers={"Authorization": f"Bearer {token}"},
            params={"filter[slug]": "fuzz"},
        )
        if orgs.json()["data"]:
            org_id = orgs.json()["data"][0]["id"]
        else:
            created = await client.post(
                "/api/v1/organizations",
                headers={"Authorization": f"Bearer {token}"},
                json={"slug": "fuzz", "display_name": "Fuzz"},
            )
            org_id = created.json()["data"]["id"]
    await app.state.ctx.redis.aclose()
    await app.state.ctx.engine.dispose()
    return FuzzWorld(fuzz_settings, token, org_id)


@pytest.fixture(scope="module")
def fuzz_world(migrated_url: str, redis_url: str) -> FuzzWorld:
    fuzz_settings = make_settings(migrated_url, redis_url, access_token_ttl_seconds=3600)
    return asyncio.run(_prepare(fuzz_settings))


@pytest.fixture(scope="module")
def fuzz_app(fuzz_world: FuzzWorld) -> Any:
    """The app under test, wired to the real services."""
    return create_app(
        fuzz_world.settings, gateway=RecordingClusterGateway(), passwords=fast_passwords()
    )


# The schema is read from an app built with placeholder settings (building an app does no I/O);
# requests go to `fuzz_app`. schemathesis' lazy `from_fixture` loader does not run on pytest 9.
CONFIG = SchemathesisConfig.from_str("""
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
""")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings()), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_honours_its_openapi_schema(
    case: Any, fuzz_world: FuzzWorld, fuzz_app: Any
) -> None:
    if case.meta is not None and case.meta.generation.mode.name == "POSITIVE":
        if case.path_parameters and "org_id" in case.path_parameters:
            case.path_parameters["org_id"] = fuzz_world.org_id
        if case.query and "organization_id" in case.query:
            case.query["organization_id"] = fuzz_world.org_id
    # call_and_validate raises on any failed check; the 5xx one is spelled out as well.
    response = case.call_and_validate(
        app=fuzz_app, headers={"Authorization": f"Bearer {fuzz_world.token}"}
    )
    assert response.status_code < 500, response.text
