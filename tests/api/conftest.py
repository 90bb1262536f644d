"""Fixtures of the facade tests: settings, a migrated database, apps and signed-in callers.

Unit tests use `unit_settings` (no services). Integration tests get an app wired to the session's
real PostgreSQL and Redis (`database_url`, `redis_url` from tests/conftest.py), a recording
cluster gateway that fails on unexpected calls, and a fast Argon2id profile. Tests never clean up:
every test makes its own users and organizations with unique names.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from modelplane_api.cluster import ClusterGateway
from modelplane_api.main import create_app
from modelplane_api.migrate import upgrade
from modelplane_api.security import Passwords, generate_jwt_key
from modelplane_api.settings import Settings
from modelplane_cli.local.services import MLflow
from modelplane_runtime.settings import RuntimeSettings
from tests.api.fakes import RecordingClusterGateway
from tests.onnx_models import linear_model, model_bytes, signature_of, write_model
from tests.operator.analysis.backends import Prometheus
from tests.runtime.conftest import RuntimeProcess, free_port

PASSWORD = "correct horse battery staple"


def make_settings(
    database_url: str = "postgresql+psycopg://u@127.0.0.1:1/db",
    redis_url: str = "redis://127.0.0.1:1/0",
    **overrides: Any,
) -> Settings:
    """Settings with a fresh Ed25519 key and generous limits unless overridden."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "jwt_keys": [json.loads(generate_jwt_key("test-1"))],
        "rate_limit_per_ip": 100_000,
        "rate_limit_per_user": 100_000,
        "rate_limit_auth_per_ip": 100_000,
        "rate_limit_login_per_account": 100_000,
        "kubernetes_enabled": False,
        "background_tasks": False,
    }
    values.update(overrides)
    return Settings(**values)


def fast_passwords() -> Passwords:
    """Argon2id with a small cost, so tests that sign in many users stay quick."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def unit_settings() -> Settings:
    return make_settings()


@pytest.fixture(scope="session")
def migrated_url(database_url: str) -> str:
    """The session database with every migration applied."""
    upgrade(database_url)
    return database_url


class FakeClock:
    """A clock tests can move."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)


@dataclass
class Api:
    """An app under test with an HTTP client and helpers to make callers."""

    app: FastAPI
    client: httpx.AsyncClient
    gateway: RecordingClusterGateway
    clock: FakeClock
    settings: Settings
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def mlflow_uri(self) -> str:
        """The MLflow the registry mirrors into."""
        assert self.settings.mlflow_tracking_uri
        return self.settings.mlflow_tracking_uri

    @property
    def mlflow(self) -> MLflow:
        """That MLflow with the token the facade calls it with."""
        assert self.settings.mlflow_token is not None
        return MLflow(self.mlflow_uri, self.settings.mlflow_token.get_secret_value())

    @asynccontextmanager
    async def over_tcp(self) -> AsyncIterator[str]:
        """A second app on the same database, gateway and clock, served by uvicorn on a
        loopback port in a thread, for clients that speak HTTP, not ASGI (tritonclient, the
        mlflow client); yields `http://127.0.0.1:<port>`."""
        app = create_app(
            self.settings, gateway=self.gateway, clock=self.clock, passwords=fast_passwords()
        )
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the facade stopped while starting"
            assert time.monotonic() < deadline, "the facade did not start"
            await asyncio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await asyncio.to_thread(thread.join, 30)

    async def register(self, name: str | None = None) -> dict[str, Any]:
        """Register and sign in a new user; returns its id, email, tokens and headers."""
        email = f"{name or 'user'}-{uuid.uuid4().hex[:10]}@example.com"
        created = await self.client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": name or "User"},
        )
        assert created.status_code == 201, created.text
        tokens = await self.login(email)
        return {
            "id": created.json()["data"]["id"],
            "email": email,
            **tokens,
            "headers": {"Authorization": f"Bearer {tokens['access_token']}"},
        }

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """Sign in; returns the token pair."""
        response = await self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def create_org(self, owner: dict[str, Any], slug: str | None = None) -> dict[str, Any]:
        """Create an organization owned by `owner`."""
        response = await self.client.post(
            "/api/v1/organizations",
            headers=owner["headers"],
            json={"slug": slug or f"org-{uuid.uuid4().hex[:10]}", "display_name": "Org"},
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def add_member(
        self, admin: dict[str, Any], org_id: str, user: dict[str, Any], role: str
    ) -> None:
        """Add `user` to an organization with a role."""
        response = await self.client.post(
            f"/api/v1/organizations/{org_id}/members",
            headers=admin["headers"],
            json={"email": user["email"], "role": role},
        )
        assert response.status_code == 201, response.text

    async def create_project(self, caller: dict[str, Any], org_id: str) -> dict[str, Any]:
        """Create a project in an organization."""
        response = await self.client.post(
            f"/api/v1/organizations/{org_id}/projects",
            headers=caller["headers"],
            json={"name": f"p-{uuid.uuid4().hex[:8]}", "description": "d"},
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def create_model(
        self, caller: dict[str, Any], org_id: str, name: str | None = None
    ) -> dict[str, Any]:
        """Register a model in an organization."""
        response = await self.client.post(
            f"/api/v1/organizations/{org_id}/models",
            headers=caller["headers"],
            json={"name": name or f"m-{uuid.uuid4().hex[:8]}", "task_type": "classification"},
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    async def upload_version(
        self,
        caller: dict[str, Any],
        org_id: str,
        model_id: str,
        artifact: bytes | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Upload an ONNX file (default: a 4-feature linear model) as a model's next version."""
        return await self.client.post(
            f"/api/v1/organizations/{org_id}/models/{model_id}/versions",
            headers=caller["headers"],
            files=version_form(artifact, metadata),
        )

    async def create_api_key(
        self, admin: dict[str, Any], org_id: str, role: str, scope: str = "full"
    ) -> dict[str, Any]:
        """Create an API key; returns its body including the secret."""
        response = await self.client.post(
            f"/api/v1/organizations/{org_id}/api-keys",
            headers=admin["headers"],
            json={"name": f"k-{uuid.uuid4().hex[:6]}", "role": role, "scope": scope},
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


def small_model() -> bytes:
    """A 4-feature linear model, serialized."""
    return model_bytes(linear_model(4))[0]


def version_form(
    artifact: bytes | None = None, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The multipart form of a version upload."""
    files: dict[str, Any] = {
        "file": (
            "model.onnx",
            artifact if artifact is not None else small_model(),
            "application/octet-stream",
        )
    }
    if metadata is not None:
        files["metadata"] = (None, json.dumps(metadata), "application/json")
    return files


ApiFactory = Callable[..., Any]


ARTIFACT_BUCKET = "facade-tests"
PAYLOAD_BUCKET = "test-payloads"
"""Payload logs and feedback of deployments without `payloadLogging.uri`."""


@pytest.fixture(scope="session")
def artifact_settings(s3: Any, mlflow_server: MLflow) -> dict[str, Any]:
    """Settings that point the facade's artifact store at the session's MinIO and its registry
    mirror at the session's MLflow (workspaces enabled)."""
    s3.with_bucket(ARTIFACT_BUCKET)
    s3.with_bucket(PAYLOAD_BUCKET)
    return {
        "payload_bucket": PAYLOAD_BUCKET,
        "s3_endpoint_url": s3.endpoint_url,
        "s3_access_key_id": s3.access_key,
        "s3_secret_access_key": s3.secret_key,
        "artifact_bucket": ARTIFACT_BUCKET,
        "mlflow_tracking_uri": mlflow_server.url,
        "mlflow_token": mlflow_server.token,
    }


@pytest.fixture(scope="session")
def api_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A real Prometheus for the apps under test to query deployment metrics from: it scrapes
    nothing, so every query runs and the series are empty (tests that need series start their
    own)."""
    prometheus = Prometheus([], tmp_path_factory.mktemp("prometheus"))
    try:
        prometheus.wait_ready()
        yield prometheus
    finally:
        prometheus.stop()


@pytest.fixture
async def make_api(
    migrated_url: str,
    redis_url: str,
    artifact_settings: dict[str, Any],
    api_prometheus: Prometheus,
) -> AsyncIterator[ApiFactory]:
    """Build apps against the real services; each is closed after the test."""
    made: list[Api] = []

    async def make(
        client_ip: str = "127.0.0.1", cluster: ClusterGateway | None = None, **overrides: Any
    ) -> Api:
        """An app on the real services; `cluster` replaces the recording gateway."""
        settings = make_settings(
            **{
                "database_url": migrated_url,
                "redis_url": redis_url,
                "prometheus_url": api_prometheus.url,
                **artifact_settings,
                **overrides,
            }
        )
        gateway = RecordingClusterGateway()
        clock = FakeClock()
        app = create_app(
            settings, gateway=cluster or gateway, clock=clock, passwords=fast_passwords()
        )
        transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        api = Api(app, client, gateway, clock, settings)
        made.append(api)
        return api

    yield make
    for api in made:
        await api.client.aclose()
        mirror = api.app.state.ctx.mirror
        if hasattr(mirror, "aclose"):
            await mirror.aclose()
        await api.app.state.ctx.redis.aclose()
        await api.app.state.ctx.engine.dispose()


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    """One app against the real services."""
    result: Api = await make_api()
    return result


SERVED_MODEL = "served"
"""The model name the session's serving runtime answers under (and build_world's model)."""
SERVED_LINEAR = linear_model(4, seed=5, labelled=True)
"""What it serves: FP32 `x` [-1, 4] → FP32 `y` [-1, 1] and INT64 `label` [-1] (y > 0.5)."""


@pytest.fixture(scope="session")
def serving_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeProcess]:
    """A real serving runtime process for the session, serving SERVED_LINEAR as `served` (it
    stands for a deployment's Service in the recording gateway)."""
    tmp = tmp_path_factory.mktemp("serving")
    model = SERVED_LINEAR
    path, digest = write_model(model, tmp / "model.onnx")
    settings = RuntimeSettings(
        model_name=SERVED_MODEL,
        model_version="1",
        model_uri=path.as_uri(),
        model_sha256=digest,
        signature=signature_of(model),
        cache_dir=tmp / "cache",
        host="127.0.0.1",
        access_log=True,
    )
    process = RuntimeProcess(settings, tmp / "runtime.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.terminate()
