"""The local platform's MLflow server refuses whoever has no token (issue 13): only the facade,
the operator and serving pods hold one. The facade's, the operator's and the pods' own paths
through it are tested where they live (tests/api/test_tracking.py, test_registry.py,
tests/integration/test_operator_model_version.py, tests/runtime/test_mlflow_artifact.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from modelplane_cli.local.services import MLflow
from tests.mlflow_registry import log_model_run, register_onnx
from tests.onnx_models import linear_model, model_bytes

SEARCH = "/api/2.0/mlflow/experiments/search"


def test_a_direct_call_without_the_token_is_refused(mlflow_server: MLflow) -> None:
    for headers in ({}, {"Authorization": "Bearer " + "x" * 43}, {"X-MLFLOW-WORKSPACE": "default"}):
        answer = httpx.post(
            f"{mlflow_server.url}{SEARCH}", json={"max_results": 1}, headers=headers, timeout=10
        )
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.json()["error_code"] == "UNAUTHENTICATED"
    listed = httpx.get(f"{mlflow_server.url}/api/3.0/mlflow/workspaces", timeout=10)
    assert listed.status_code == 401
    page = httpx.get(f"{mlflow_server.url}/", timeout=10)  # the UI too
    assert page.status_code == 401


def test_probes_stay_open_and_the_service_token_passes(mlflow_server: MLflow) -> None:
    assert httpx.get(f"{mlflow_server.url}/health", timeout=10).status_code == 200
    answer = httpx.post(
        f"{mlflow_server.url}{SEARCH}",
        json={"max_results": 1},
        headers=mlflow_server.headers(),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_the_pods_token_downloads_default_workspace_artifacts_and_nothing_else(
    mlflow_server: MLflow,
) -> None:
    data = model_bytes(linear_model(3, seed=11))[0]
    name, version = register_onnx(mlflow_server, data)
    reader = {"Authorization": f"Bearer {mlflow_server.reader_token}"}
    params = {"name": name, "version": version, "path": "model.onnx"}
    url = f"{mlflow_server.url}/model-versions/get-artifact"
    got = httpx.get(url, params=params, headers=reader, timeout=30)
    assert got.status_code == 200, got.text
    assert got.content == data
    refused = httpx.post(
        f"{mlflow_server.url}{SEARCH}", json={"max_results": 1}, headers=reader, timeout=10
    )
    assert refused.status_code == 403
    # A model registered in an organization's workspace: the pods' token never reaches it,
    # whatever workspace it names (the service token, with the header, does).
    workspace = "mp-guard-test"
    theirs = _register_in(mlflow_server, workspace, data)
    forged = {**reader, "X-MLFLOW-WORKSPACE": workspace}
    theirs_params = {"name": theirs, "version": "1", "path": "model.onnx"}
    assert httpx.get(url, params=theirs_params, headers=forged, timeout=30).status_code == 404
    service = {**mlflow_server.headers(), "X-MLFLOW-WORKSPACE": workspace}
    assert httpx.get(url, params=theirs_params, headers=service, timeout=30).status_code == 200


def _register_in(mlflow: MLflow, workspace: str, data: bytes) -> str:
    """A registered model with one version (model/model.onnx of a run) in `workspace`."""
    run_id = log_model_run(mlflow, workspace, data)
    name = f"theirs-{uuid.uuid4().hex[:8]}"
    headers = {"X-MLFLOW-WORKSPACE": workspace, **mlflow.headers()}
    with httpx.Client(base_url=mlflow.url, headers=headers, timeout=30) as client:
        run = client.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id})
        source = run.json()["run"]["info"]["artifact_uri"] + "/model"
        created = client.post("/api/2.0/mlflow/registered-models/create", json={"name": name})
        assert created.status_code == 200, created.text
        version = client.post(
            "/api/2.0/mlflow/model-versions/create",
            json={"name": name, "source": source, "run_id": run_id},
        )
        assert version.status_code == 200, version.text
    return name


@pytest.mark.parametrize("token", ["token", "reader_token"])
def test_tokens_are_not_on_any_command_line(mlflow_server: MLflow, token: str) -> None:
    secret = getattr(mlflow_server, token).encode()
    seen = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        seen += 1
        assert secret not in command, cmdline
    assert seen > 1
