"""Fixtures of the dashboard's tests: the migrated session database (shared with the facade's
tests), the built static export, and a real facade serving it over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from modelplane_api.cluster import FIELD_MANAGER, MODEL_VERSION, ResourceKind
from modelplane_api.main import create_app
from modelplane_cli.local.platform import S3Endpoint
from modelplane_cli.local.processes import free_port
from tests.api.conftest import fast_passwords, make_settings, migrated_url
from tests.api.fakes import RecordingClusterGateway
from tests.frontend.support import FRONTEND, npx

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


@pytest.fixture(scope="session")
def dashboard_export() -> Path:
    """`next build` of the current sources: the static export in frontend/out."""
    npx("next", "build", timeout=300)
    out = FRONTEND / "out"
    assert (out / "index.html").is_file()
    return out


@pytest.fixture(scope="session")
def dashboard_url(
    migrated_url: str, redis_url: str, s3: S3Endpoint, mlflow_uri: str, dashboard_export: Path
) -> Iterator[str]:
    """A facade on the session's PostgreSQL, Redis, MinIO and MLflow serving the export, by
    uvicorn on a free 127.0.0.1 port in a thread; payload logs are read from the same bucket
    (empty: no pods). Each organization's experiments and runs live in its workspace of the
    session's MLflow, which also mirrors uploaded versions into its registry. The cluster
    gateway records applies (as in the facade's tests) and marks versions Ready (see
    `VerifyingClusterGateway`)."""
    settings = make_settings(
        migrated_url,
        redis_url,
        dashboard_dir=str(dashboard_export),
        s3_endpoint_url=s3.endpoint_url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
        artifact_bucket=s3.bucket,
        payload_bucket=s3.bucket,
        mlflow_tracking_uri=mlflow_uri,
    )
    app = create_app(settings, gateway=VerifyingClusterGateway(), passwords=fast_passwords())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="dashboard-facade", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the facade stopped while starting"
        assert time.monotonic() < deadline, "the facade did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
