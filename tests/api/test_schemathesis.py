"""Property-based run of schemathesis over the whole OpenAPI of the facade, signed in as an org
admin: no 5xx, every response matches its documented schema and status codes, invalid input is
rejected, endpoints that declare auth refuse requests without it.

Positive cases name a real organization, model, version, MLflow run, deployment and monitor (so
every route, the registry's uploads and from-run included, runs past its lookups against the
real PostgreSQL, MinIO and MLflow; each DELETE gets a spare model, monitor or deployment of
its own; the version is marked Ready, as the operator would, so it can be deployed); negative
cases keep whatever schemathesis generated. The run is bounded by `max_examples` per operation
so it takes a minute or two.

Schema-valid requests may also answer 400 where a rule beyond the schema refuses them (an
`expires_at` in the past, a cursor we never issued); everything else is schemathesis' defaults.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from modelplane_api.main import create_app
from modelplane_api.settings import Settings
from modelplane_cli.local.services import MLflow
from tests.api.catalog import add_deployment_object, mark_ready
from tests.api.fakes import RecordingClusterGateway
from tests.mlflow_registry import log_model_run
from tests.operator.analysis.backends import Prometheus
from tests.runtime.conftest import RuntimeProcess

from .conftest import PASSWORD, fast_passwords, make_settings, small_model, version_form

MAX_EXAMPLES = 12
SPARES = MAX_EXAMPLES + 4
"""Models, monitors and deployments made for DELETE cases, so each deletes a real one."""
DEPLOYMENT = "serving"


@dataclass
class FuzzWorld:
    """A real organization with one of everything, for positive cases to name."""

    settings: Settings
    gateway: RecordingClusterGateway
    token: str
    org_id: str
    model_id: str
    version_id: str
    run_id: str
    monitor: str
    deployment: str
    spare_models: list[str] = field(default_factory=list)
    spare_monitors: list[str] = field(default_factory=list)
    spare_deployments: list[str] = field(default_factory=list)
    spare_tokens: list[str] = field(default_factory=list)
    """Access tokens of other sign-ins of the admin: a logout case revokes the token it is
    sent with, so it gets one of these instead of the one every other case uses."""


async def _prepare(fuzz_settings: Settings, mlflow: MLflow) -> FuzzWorld:
    # A separate app instance on its own event loop: the schemathesis app must not inherit
    # connections bound to this loop. The recording gateway is shared with the app under test
    # (it holds no connections), so what is applied here exists there.
    gateway = RecordingClusterGateway()
    app = create_app(fuzz_settings, gateway=gateway, passwords=fast_passwords())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://prep") as client:
        email = f"fuzz-admin-{uuid.uuid4().hex[:8]}@example.com"
        await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Fuzz"},
        )
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["data"]["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        slug = f"fuzz-{uuid.uuid4().hex[:8]}"
        created = await client.post(
            "/api/v1/organizations", json={"slug": slug, "display_name": "Fuzz"}
        )
        org_id = created.json()["data"]["id"]
        base = f"/api/v1/organizations/{org_id}"
        namespace = f"mp-{slug}"
        add_deployment_object(gateway, namespace, DEPLOYMENT)

        async def model() -> str:
            made = await client.post(f"{base}/models", json={"name": f"m-{uuid.uuid4().hex[:8]}"})
            assert made.status_code == 201, made.text
            return str(made.json()["data"]["id"])

        async def monitor() -> str:
            name = f"d-{uuid.uuid4().hex[:8]}"
            made = await client.post(
                f"{base}/monitors",
                json={
                    "name": name,
                    "spec": {
                        "deploymentRef": {"name": DEPLOYMENT},
                        "schedule": "*/5 * * * *",
                        "window": {"size": "30m"},
                    },
                },
            )
            assert made.status_code == 201, made.text
            return name

        model_id = await model()
        version = await client.post(
            f"{base}/models/{model_id}/versions", files=version_form(small_model())
        )
        assert version.status_code == 201, version.text
        mark_ready(gateway, namespace, version.json()["data"]["resource_name"])

        async def deployment() -> str:
            name = f"s-{uuid.uuid4().hex[:8]}"
            made = await client.post(
                f"{base}/deployments",
                json={"version_id": version.json()["data"]["id"], "name": name},
            )
            assert made.status_code == 201, made.text
            return name

        world = FuzzWorld(
            fuzz_settings,
            gateway,
            token,
            org_id,
            model_id,
            version.json()["data"]["id"],
            log_model_run(mlflow, namespace, small_model()),
            await monitor(),
            await deployment(),
        )
        for _ in range(SPARES):
            world.spare_models.append(await model())
            world.spare_monitors.append(await monitor())
            world.spare_deployments.append(await deployment())
        for _ in range(4 * MAX_EXAMPLES):
            again = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
            )
            world.spare_tokens.append(again.json()["data"]["access_token"])
    mirror = app.state.ctx.mirror
    if hasattr(mirror, "aclose"):
        await mirror.aclose()
    await app.state.ctx.redis.aclose()
    await app.state.ctx.engine.dispose()
    return world


@pytest.fixture(scope="module")
def fuzz_world(
    migrated_url: str,
    redis_url: str,
    artifact_settings: dict[str, Any],
    mlflow_server: MLflow,
    serving_runtime: RuntimeProcess,
    api_prometheus: Prometheus,
) -> FuzzWorld:
    fuzz_settings = make_settings(
        migrated_url,
        redis_url,
        access_token_ttl_seconds=3600,
        prometheus_url=api_prometheus.url,
        **artifact_settings,
    )
    world = asyncio.run(_prepare(fuzz_settings, mlflow_server))
    # The deployment answers inference for real: fuzzed OIP requests reach a real runtime.
    namespace = next(ns for (_, ns, name) in world.gateway.objects if name == world.deployment)
    assert namespace is not None
    world.gateway.services[(namespace, world.deployment)] = serving_runtime.url
    return world


@pytest.fixture(scope="module")
def fuzz_app(fuzz_world: FuzzWorld) -> Any:
    """The app under test, wired to the real services (PostgreSQL, Redis, MinIO, MLflow)."""
    return create_app(fuzz_world.settings, gateway=fuzz_world.gateway, passwords=fast_passwords())


def _with_real_ids(case: Any, world: FuzzWorld) -> None:
    """Name the world's real organization, model, version, run, deployment and monitor in a
    positive case, so every route runs past its lookups (a DELETE gets a spare of its own)."""
    path = case.path_parameters or {}
    deleting = case.method.upper() == "DELETE"
    if "org_id" in path:
        path["org_id"] = world.org_id
    if "model_id" in path:
        spare = deleting and case.path.endswith("{model_id}") and world.spare_models
        path["model_id"] = world.spare_models.pop() if spare else world.model_id
    if "version_id" in path:
        path["version_id"] = world.version_id
    if "name" in path and "/monitors/" in case.path:
        path["name"] = (
            world.spare_monitors.pop() if deleting and world.spare_monitors else (world.monitor)
        )
    if "name" in path and "/deployments/" in case.path:
        spare = deleting and case.path.endswith("{name}") and world.spare_deployments
        path["name"] = world.spare_deployments.pop() if spare else world.deployment
    if case.query and "organization_id" in case.query:
        case.query["organization_id"] = world.org_id
    if isinstance(case.body, dict):
        if case.path.endswith("/from-run"):
            case.body.update(run_id=world.run_id, path="model")
        if isinstance(case.body.get("spec"), dict) and case.path.endswith("/monitors"):
            case.body["spec"]["deploymentRef"] = {"name": DEPLOYMENT}
        if case.path.endswith("/deployments") and "version_id" in case.body:
            case.body["version_id"] = world.version_id


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
        _with_real_ids(case, fuzz_world)
    # call_and_validate raises on any failed check; the 5xx one is spelled out as well.
    token = fuzz_world.token
    if case.path == "/api/v1/auth/logout":
        token = fuzz_world.spare_tokens.pop() if fuzz_world.spare_tokens else "none"
    response = case.call_and_validate(app=fuzz_app, headers={"Authorization": f"Bearer {token}"})
    assert not (
        response.status_code == 401 and "revoked" in response.text and token == fuzz_world.token
    ), "the shared access token was revoked: later cases would only test 401s"
    assert response.status_code < 500, response.text
