"""MLflow tracking through the facade: the standard `mlflow` client against
`<facade>/api/v1/organizations/<slug>/mlflow`, with the session's real MLflow server
(PostgreSQL backend, workspaces, artifacts proxied into MinIO) behind it.

The client runs in a thread against a second app on the same database, served by uvicorn on a
loopback port (it speaks HTTP, not ASGI); setup and audit checks use the test's own app.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from sqlalchemy import select

from modelplane_api.audit.models import AuditEvent
from modelplane_api.tracking.service import TrackingProxy, rule_for

from .conftest import Api, ApiFactory

pytestmark = pytest.mark.integration
T = TypeVar("T")
CLIENT_ENV = {
    "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
}


@dataclass
class Tracked:
    """An organization with an admin, a developer and a viewer, and the facade over TCP."""

    api: Api
    base: str
    """`http://127.0.0.1:<port>`"""
    org: dict[str, Any]
    admin: dict[str, Any]
    developer: dict[str, Any]
    viewer: dict[str, Any]

    def uri(self, org: dict[str, Any] | None = None) -> str:
        """The tracking URI of an organization (this one by default), by slug."""
        return f"{self.base}/api/v1/organizations/{(org or self.org)['slug']}/mlflow"


@contextmanager
def as_caller(token: str) -> Iterator[None]:
    """The mlflow client reads MLFLOW_TRACKING_TOKEN on every request."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_TOKEN", *CLIENT_ENV)}
    os.environ.update({"MLFLOW_TRACKING_TOKEN": token, **CLIENT_ENV})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def in_thread(token: str, work: Callable[[], T]) -> T:
    """Run blocking mlflow client calls as one caller, off the test's event loop."""

    def run() -> T:
        with as_caller(token):
            return work()

    return await asyncio.to_thread(run)


@pytest.fixture
async def tracked(make_api: ApiFactory) -> AsyncIterator[Tracked]:
    api = await make_api()
    admin, developer, viewer = [await api.register(n) for n in ("admin", "dev", "viewer")]
    org = await api.create_org(admin)
    await api.add_member(admin, org["id"], developer, "developer")
    await api.add_member(admin, org["id"], viewer, "viewer")
    async with api.over_tcp() as base:
        yield Tracked(api, base, org, admin, developer, viewer)


def token(user: dict[str, Any]) -> str:
    return str(user["access_token"])


async def events(api: Api, organization_id: str) -> list[AuditEvent]:
    async with api.app.state.ctx.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.organization_id == organization_id)
            .where(AuditEvent.action.like("experiment.%"))
            .order_by(AuditEvent.created_at)
        )
        return list(rows)


async def test_the_mlflow_client_logs_searches_and_round_trips_artifacts(
    tracked: Tracked, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"confusion matrix\n" * 1000)
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    def work() -> dict[str, Any]:
        client = MlflowClient(tracking_uri=tracked.uri())
        experiment_id = client.create_experiment("fraud")
        run = client.create_run(experiment_id, run_name="baseline")
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[
                Metric("auc", 0.91, now, 0),
                *(Metric("loss", 1.0 / (step + 1), now, step) for step in range(996)),
            ],
            params=[Param("lr", "0.1"), Param("depth", "4")],
            tags=[RunTag("team", "risk")],
        )
        client.set_tag(run_id, "stage", "baseline")
        client.log_artifact(run_id, str(notes))
        client.set_terminated(run_id)
        found = client.search_runs([experiment_id], "metrics.auc > 0.9 and params.lr = '0.1'")
        missed = client.search_runs([experiment_id], "metrics.auc > 0.95")
        return {
            "experiment": client.get_experiment_by_name("fraud"),
            "run_id": run_id,
            "found": [r.info.run_id for r in found],
            "missed": len(missed),
            "history": len(client.get_metric_history(run_id, "loss")),
            "artifacts": [a.path for a in client.list_artifacts(run_id)],
            "downloaded": Path(
                client.download_artifacts(run_id, "notes.txt", str(downloads))
            ).read_bytes(),
            "status": client.get_run(run_id).info.status,
        }

    seen = await in_thread(token(tracked.developer), work)
    assert seen["experiment"].name == "fraud"
    assert seen["found"] == [seen["run_id"]]
    assert seen["missed"] == 0
    assert seen["history"] == 996
    assert seen["artifacts"] == ["notes.txt"]
    assert seen["downloaded"] == b"confusion matrix\n" * 1000
    assert seen["status"] == "FINISHED"

    recorded = await events(tracked.api, tracked.org["id"])
    actions = [(e.action, e.outcome) for e in recorded]
    assert actions == [
        ("experiment.create", "success"),
        ("experiment.run.create", "success"),
        ("experiment.run.log_batch", "success"),
        ("experiment.artifact.upload", "success"),
    ], actions  # one event per batch of 1,000 entries (MLflow's cap); a single tag is not audited
    assert {str(e.actor_id) for e in recorded} == {tracked.developer["id"]}
    batch = recorded[2]
    assert batch.resource_id == seen["run_id"]
    assert batch.after == {"metrics": 997, "params": 2, "tags": 1}
    assert recorded[0].resource_id == seen["experiment"].experiment_id
    upload = recorded[3]
    assert (upload.resource_type, upload.resource_id) == ("run", seen["run_id"])
    assert upload.after == {"path": "notes.txt"}


async def test_viewers_read_developers_write_admins_delete(tracked: Tracked) -> None:
    def log() -> tuple[str, str]:
        client = MlflowClient(tracking_uri=tracked.uri())
        experiment_id = client.create_experiment("roles")
        return experiment_id, client.create_run(experiment_id).info.run_id

    experiment_id, run_id = await in_thread(token(tracked.developer), log)

    def read() -> tuple[list[str], str]:
        client = MlflowClient(tracking_uri=tracked.uri())
        found = client.search_experiments(filter_string="name = 'roles'")
        return [e.experiment_id for e in found], client.get_run(run_id).info.run_id

    assert await in_thread(token(tracked.viewer), read) == ([experiment_id], run_id)

    def write() -> None:
        MlflowClient(tracking_uri=tracked.uri()).log_param(run_id, "lr", "0.1")

    with pytest.raises(MlflowException, match="may not experiment:write"):
        await in_thread(token(tracked.viewer), write)

    def delete() -> None:
        MlflowClient(tracking_uri=tracked.uri()).delete_run(run_id)

    with pytest.raises(MlflowException, match="may not experiment:delete"):
        await in_thread(token(tracked.developer), delete)
    await in_thread(token(tracked.admin), delete)

    def status() -> str:
        return str(MlflowClient(tracking_uri=tracked.uri()).get_run(run_id).info.lifecycle_stage)

    assert await in_thread(token(tracked.viewer), status) == "deleted"
    denied = [
        (e.action, e.outcome, e.status_code, str(e.actor_id))
        for e in await events(tracked.api, tracked.org["id"])
        if e.outcome != "success"
    ]
    assert denied == [("experiment.run.delete", "denied", 403, tracked.developer["id"])]

    key = await tracked.api.create_api_key(
        tracked.admin, tracked.org["id"], "developer", scope="inference"
    )
    async with httpx.AsyncClient(base_url=tracked.uri()) as http:
        refused = await http.get(
            "/api/2.0/mlflow/runs/get",
            params={"run_id": run_id},
            headers={"Authorization": f"Bearer {key['key']}"},
        )
        anonymous = await http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id})
    assert refused.status_code == 403, refused.text
    assert "scope is inference" in refused.json()["error"]["message"]
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"


async def test_another_organization_sees_nothing_whatever_header_it_sends(
    tracked: Tracked, tmp_path: Path
) -> None:
    notes = tmp_path / "secret.txt"
    notes.write_text("org A only")

    def log() -> tuple[str, str, str]:
        client = MlflowClient(tracking_uri=tracked.uri())
        experiment_id = client.create_experiment("private")
        run = client.create_run(experiment_id)
        client.log_artifact(run.info.run_id, str(notes))
        return experiment_id, run.info.run_id, run.info.artifact_uri

    experiment_id, run_id, artifact_uri = await in_thread(token(tracked.developer), log)
    api = tracked.api
    outsider = await api.register("outsider")
    other = await api.create_org(outsider)
    forged = {
        "Authorization": f"Bearer {token(outsider)}",
        "X-MLFLOW-WORKSPACE": f"mp-{tracked.org['slug']}",
    }
    async with httpx.AsyncClient(base_url=tracked.uri(other)) as http:
        run = await http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}, headers=forged)
        experiment = await http.get(
            "/api/2.0/mlflow/experiments/get",
            params={"experiment_id": experiment_id},
            headers=forged,
        )
        searched = await http.post(
            "/api/2.0/mlflow/experiments/search", json={"max_results": 100}, headers=forged
        )
        path = artifact_uri.removeprefix("mlflow-artifacts:/").strip("/")
        artifact = await http.get(
            f"/api/2.0/mlflow-artifacts/artifacts/{path}/secret.txt", headers=forged
        )
    assert run.status_code == 404
    assert run.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert experiment.status_code == 404, experiment.text
    assert searched.status_code == 200
    assert "private" not in {e["name"] for e in searched.json().get("experiments", [])}
    assert artifact.status_code in (400, 403, 404), artifact.text
    assert b"org A only" not in artifact.content

    async with httpx.AsyncClient(base_url=tracked.uri()) as http:
        by_slug = await http.get(
            "/api/2.0/mlflow/runs/get", params={"run_id": run_id}, headers=forged
        )
    async with httpx.AsyncClient(
        base_url=f"{tracked.base}/api/v1/organizations/{tracked.org['id']}/mlflow"
    ) as http:
        by_id = await http.get(
            "/api/2.0/mlflow/runs/get", params={"run_id": run_id}, headers=forged
        )
    for answer in (by_slug, by_id):
        assert answer.status_code == 404
        assert answer.json()["error"] == {
            "code": "not_found",
            "message": "organization not found",
            "details": None,
        }


async def test_apis_outside_tracking_are_refused_with_the_envelope(tracked: Tracked) -> None:
    headers = {"Authorization": f"Bearer {token(tracked.admin)}"}
    async with httpx.AsyncClient(base_url=tracked.uri()) as http:
        registry = await http.post(
            "/api/2.0/mlflow/registered-models/create", json={"name": "m"}, headers=headers
        )
        workspaces = await http.get("/api/3.0/mlflow/workspaces", headers=headers)
        climbing = await http.get(
            "/api/2.0/mlflow-artifacts/artifacts/a/%2E%2E/%2E%2E/etc", headers=headers
        )
        unknown = await http.post("/api/2.0/mlflow/gateway/routes", json={}, headers=headers)
        presigned = await http.get("/api/2.0/mlflow/artifacts/presigned/x", headers=headers)
    assert registry.status_code == 403
    assert "from-run" in registry.json()["error"]["message"]
    assert workspaces.status_code == 403
    for answer in (climbing, unknown, presigned):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "not_found"


def test_the_allowlist_names_one_permission_per_api() -> None:
    assert rule_for("POST", "api/2.0/mlflow/runs/log-batch").audit == "experiment.run.log_batch"
    assert rule_for("POST", "api/2.0/mlflow/runs/log-metric").audit is None
    assert rule_for("GET", "api/2.0/mlflow/runs/get").permission == "experiment:read"
    assert rule_for("POST", "api/2.0/mlflow/runs/delete").permission == "experiment:delete"
    put = rule_for("PUT", "api/2.0/mlflow-artifacts/artifacts/1/2/artifacts/a.txt")
    assert put.streamed
    assert put.permission == "experiment:write"


async def test_mlflow_answers_the_facades_token_never_the_callers(make_api: ApiFactory) -> None:
    """The caller's own Authorization stays at the facade: MLflow refuses it, and answers the
    facade, which calls with its own token; a facade without that token gets a 5xx (never a
    401 a caller would take for their own credentials)."""
    api = await make_api()
    admin = await api.register("admin")
    org = await api.create_org(admin)
    caller = {"Authorization": f"Bearer {token(admin)}"}
    search, query = "/api/2.0/mlflow/experiments/search", {"max_results": 10}
    through = await api.client.post(
        f"/api/v1/organizations/{org['slug']}/mlflow{search}", json=query, headers=caller
    )
    assert through.status_code == 200, through.text
    async with httpx.AsyncClient(timeout=10) as http:
        direct = await http.post(f"{api.mlflow_uri}{search}", json=query, headers=caller)
    assert direct.status_code == 401
    ctx = api.app.state.ctx
    await ctx.tracking.aclose()
    ctx.tracking = TrackingProxy(api.mlflow_uri)  # the facade without its token
    refused = await api.client.post(
        f"/api/v1/organizations/{org['slug']}/mlflow{search}", json=query, headers=caller
    )
    await ctx.tracking.aclose()
    assert refused.status_code == 502, refused.text
    assert refused.json()["success"] is False
    assert "401" in refused.json()["error"]["message"]
