"""Fixtures of the dashboard's tests: the migrated session database (shared with the facade's
tests), the built static export, the demo's canary as Prometheus sees it, and a real facade
serving the export over HTTP."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from modelplane_api.cluster import FIELD_MANAGER, MODEL_VERSION, ResourceKind
from modelplane_api.main import create_app
from modelplane_api.settings import Settings
from modelplane_cli.local.platform import S3Endpoint
from modelplane_cli.local.processes import free_port
from modelplane_cli.local.services import MLflow
from tests.api.conftest import fast_passwords, make_settings, migrated_url
from tests.api.fakes import RecordingClusterGateway
from tests.frontend.support import FRONTEND, npx
from tests.onnx_models import linear_model

# The serving runtime and Prometheus of the facade's metrics tests; imported here only.
from tests.operator.analysis.backends import Prometheus, Runtime

__all__ = ["migrated_url"]  # the facade tests' fixture, used here too


class VerifyingClusterGateway(RecordingClusterGateway):
    """The facade tests' recording gateway plus the one step of the operator the dashboard's
    deploy flow needs: a ModelVersion is Ready as soon as it is applied. No operator runs here,
    so ModelDeployments get no status: they stay `Pending`, as the facade reports them."""

    async def apply(
        self, kind: ResourceKind, body: dict[str, Any], field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        stored = await super().apply(kind, body, field_manager)
        if kind.plural == MODEL_VERSION.plural and "status" not in stored:
            meta = stored["metadata"]
            ready = {"type": "Ready", "status": "True", "reason": "Verified", "message": "e2e"}
            self.objects[(kind.plural, meta.get("namespace"), meta["name"])]["status"] = {
                "conditions": [ready]
            }
            stored["status"] = {"conditions": [dict(ready)]}
        return stored


DASHBOARD_SOURCES = ("src/**/*", "public/**/*", "*.ts", "*.mjs", "package-lock.json")


@pytest.fixture(scope="session")
def dashboard_export() -> Path:
    """The static export of the current sources in frontend/out: `next build`, unless the
    export is newer than every source (the Makefile's rule; `make test` has just built it)."""
    out = FRONTEND / "out"
    if not _export_is_current(out / "index.html"):
        npx("next", "build", timeout=300)
    assert (out / "index.html").is_file()
    return out


def _export_is_current(index: Path) -> bool:
    if not index.is_file():
        return False
    built = index.stat().st_mtime
    sources = (p for pattern in DASHBOARD_SOURCES for p in FRONTEND.glob(pattern) if p.is_file())
    return all(p.stat().st_mtime <= built for p in sources)


@dataclass(frozen=True)
class Canary:
    """The demo's canary as the e2e builds it: in the organization `slug` (which the Playwright
    test creates), model `model` deployed under its own name with version 1 stable and version 2
    the candidate."""

    slug: str
    model: str

    @property
    def namespace(self) -> str:
        return f"mp-{self.slug}"

    def version(self, number: int) -> str:
        """The ModelVersion the facade names the model's `number`th upload."""
        return f"{self.model}-v{number}"


GOOD_ROW = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
BAD_ROW = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
"""Three features where the model takes four: refused with 400 and counted as a schema
violation."""


def _canary_traffic(stable: Runtime, candidate: Runtime, stop: threading.Event) -> None:
    """The split of a canary at 25 %: three requests to the stable pod for each one to the
    candidate's, every fifth of those malformed; 8 requests a second in all."""
    with httpx.Client(timeout=5) as client:
        for n in itertools.count():
            if stop.wait(0.5):
                return
            sent = [(stable, GOOD_ROW)] * 3 + [(candidate, BAD_ROW if n % 5 == 4 else GOOD_ROW)]
            for runtime, body in sent:
                client.post(f"{runtime.url}/v2/models/{runtime.name}/infer", json=body)


@pytest.fixture(scope="session")
def canary() -> Canary:
    """Where the e2e's canary lives (a new organization each session)."""
    return Canary(slug=f"demo-{uuid.uuid4().hex[:8]}", model="fraud-detector")


@pytest.fixture(scope="session")
def canary_prometheus(canary: Canary, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Prometheus scraping, every second, two serving runtimes with the labels
    Modelplane's scrape configuration gives the canary's stable and candidate pods; traffic
    reaches both from now until the session ends, so the Monitoring tab has series to chart by
    the time the Playwright test opens it."""
    directory = tmp_path_factory.mktemp("canary")
    stable = Runtime(linear_model(4, seed=1), canary.model, "1", directory / "stable")
    candidate = Runtime(linear_model(4, seed=2), canary.model, "2", directory / "candidate")
    pods = {stable: canary.version(1), candidate: canary.version(2)}
    labels = {"namespace": canary.namespace, "deployment": canary.model}
    prometheus = Prometheus(
        [],
        directory / "prometheus",
        labelled=[
            (pod.url.removeprefix("http://"), {**labels, "model_version": version})
            for pod, version in pods.items()
        ],
    )
    stop = threading.Event()
    traffic = threading.Thread(
        target=_canary_traffic, args=(stable, candidate, stop), name="canary-traffic", daemon=True
    )
    try:
        for process in (stable, candidate, prometheus):
            process.wait_ready()
        traffic.start()
        prometheus.wait_scraped(len(pods))
        yield prometheus.url
    finally:
        stop.set()
        if traffic.is_alive():
            traffic.join(timeout=10)
        for process in (prometheus, stable, candidate):
            process.stop()


@contextlib.contextmanager
def _serving(app: FastAPI, name: str) -> Iterator[str]:
    """`app` served by uvicorn on a free 127.0.0.1 port in a thread; its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), f"{name} stopped while starting"
        assert time.monotonic() < deadline, f"{name} did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def dashboard_settings(
    migrated_url: str,
    redis_url: str,
    s3: S3Endpoint,
    mlflow_server: MLflow,
    canary_prometheus: str,
    dashboard_export: Path,
) -> Settings:
    """The e2e facade's settings: the session's PostgreSQL, Redis, MinIO, MLflow and the
    canary's Prometheus (told it scrapes every second); it serves the export. Payload logs are
    read from the same bucket (empty: no pods). Each organization's experiments and runs live
    in its workspace of the session's MLflow, which also mirrors uploaded versions into its
    registry."""
    return make_settings(
        migrated_url,
        redis_url,
        dashboard_dir=str(dashboard_export),
        s3_endpoint_url=s3.endpoint_url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
        artifact_bucket=s3.bucket,
        payload_bucket=s3.bucket,
        mlflow_tracking_uri=mlflow_server.url,
        mlflow_token=mlflow_server.token,
        prometheus_url=canary_prometheus,
        prometheus_scrape_interval_seconds=1,
    )


@pytest.fixture(scope="session")
def cluster_gateway() -> VerifyingClusterGateway:
    """The cluster as the e2e facades see it: applies recorded (as in the facade's tests),
    versions Ready at once (see `VerifyingClusterGateway`)."""
    return VerifyingClusterGateway()


@pytest.fixture(scope="session")
def dashboard_url(
    dashboard_settings: Settings, cluster_gateway: VerifyingClusterGateway
) -> Iterator[str]:
    """The e2e facade (`dashboard_settings`, `cluster_gateway`) serving the export over HTTP."""
    app = create_app(dashboard_settings, gateway=cluster_gateway, passwords=fast_passwords())
    with _serving(app, "dashboard-facade") as url:
        yield url


@pytest.fixture(scope="session")
def dashboard_url_without_prometheus(
    dashboard_settings: Settings, cluster_gateway: VerifyingClusterGateway
) -> Iterator[str]:
    """A second facade on the same database and cluster, configured with no Prometheus: the
    same deployments, whose metrics answer 503 `metrics_unavailable`."""
    settings = dashboard_settings.model_copy(update={"prometheus_url": None})
    app = create_app(settings, gateway=cluster_gateway, passwords=fast_passwords())
    with _serving(app, "dashboard-facade-without-prometheus") as url:
        yield url
