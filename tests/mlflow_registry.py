"""Registering a test ONNX model in a real MLflow server's Model Registry, as a data scientist's
client would: a run, its artifact uploaded through the server's proxy, a registered version.
Each call carries the platform's MLflow token, as the facade's and the operator's do."""

from __future__ import annotations

import uuid

import httpx

from modelplane_cli.local.services import MLflow


def register_onnx(mlflow: MLflow, data: bytes) -> tuple[str, str]:
    """Log `model/model.onnx` into a new run (through MLflow's artifact proxy) and register it
    as a version of a new registered model; returns (name, version)."""
    name = f"test-model-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=mlflow.url, timeout=30, headers=mlflow.headers()) as client:
        client.post(
            "/api/2.0/mlflow/registered-models/create", json={"name": name}
        ).raise_for_status()
        run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"})
        run.raise_for_status()
        info = run.json()["run"]["info"]
        artifacts = info["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
        client.put(
            f"/api/2.0/mlflow-artifacts/artifacts/{artifacts}/model/model.onnx", content=data
        ).raise_for_status()
        created = client.post(
            "/api/2.0/mlflow/model-versions/create",
            json={
                "name": name,
                "source": f"{info['artifact_uri']}/model",
                "run_id": info["run_id"],
            },
        )
        assert created.status_code == 200, created.text
        return name, created.json()["model_version"]["version"]


def ensure_workspace(mlflow: MLflow, workspace: str) -> None:
    """Create an MLflow workspace (an existing one is fine)."""
    created = httpx.post(
        f"{mlflow.url}/api/3.0/mlflow/workspaces",
        json={"name": workspace},
        headers=mlflow.headers(),
        timeout=30,
    )
    assert created.is_success or "ALREADY_EXISTS" in created.text, created.text


def mlmodel(flavor: str, data_file: str) -> str:
    """The MLmodel file MLflow writes beside a logged model (the part the facade reads)."""
    if flavor == "onnx":
        return (
            "artifact_path: model\nflavors:\n  onnx:\n    code: null\n"
            f"    data: {data_file}\n    onnx_version: 1.21.0\n"
            "  python_function:\n    loader_module: mlflow.onnx\n"
        )
    return (
        "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
        f"  sklearn:\n    pickled_model: {data_file}\n    serialization_format: cloudpickle\n"
    )


def log_model_run(
    mlflow: MLflow, workspace: str, data: bytes, flavor: str = "onnx", path: str = "model"
) -> str:
    """A run in `workspace` with a model logged at `path` (MLmodel + its file, uploaded through
    MLflow's artifact proxy as the client does); returns the run id."""
    ensure_workspace(mlflow, workspace)
    headers = {"X-MLFLOW-WORKSPACE": workspace, **mlflow.headers()}
    with httpx.Client(base_url=mlflow.url, timeout=30, headers=headers) as client:
        experiment = client.post(
            "/api/2.0/mlflow/experiments/create", json={"name": f"exp-{uuid.uuid4().hex[:8]}"}
        )
        experiment.raise_for_status()
        run = client.post(
            "/api/2.0/mlflow/runs/create",
            json={"experiment_id": experiment.json()["experiment_id"]},
        )
        run.raise_for_status()
        info = run.json()["run"]["info"]
        artifacts = info["artifact_uri"].removeprefix("mlflow-artifacts:/").strip("/")
        data_file = "model.onnx" if flavor == "onnx" else "model.pkl"
        for name, body in (("MLmodel", mlmodel(flavor, data_file).encode()), (data_file, data)):
            client.put(
                f"/api/2.0/mlflow-artifacts/artifacts/{artifacts}/{path}/{name}", content=body
            ).raise_for_status()
        return str(info["run_id"])


def tracked_runs(mlflow: MLflow, workspace: str) -> tuple[str, list[str]]:
    """An experiment of `workspace` with two finished runs that differ in one param, each with
    a `loss` history of 20 steps and an `auc`; returns (experiment id, run ids)."""
    ensure_workspace(mlflow, workspace)
    headers = {"X-MLFLOW-WORKSPACE": workspace, **mlflow.headers()}
    with httpx.Client(base_url=mlflow.url, timeout=30, headers=headers) as client:
        experiment = client.post(
            "/api/2.0/mlflow/experiments/create", json={"name": f"tracked-{uuid.uuid4().hex[:8]}"}
        )
        experiment.raise_for_status()
        experiment_id = str(experiment.json()["experiment_id"])
        runs = []
        for index, depth in enumerate(("4", "8")):
            run = client.post(
                "/api/2.0/mlflow/runs/create",
                json={"experiment_id": experiment_id, "run_name": f"depth-{depth}"},
            )
            run.raise_for_status()
            run_id = str(run.json()["run"]["info"]["run_id"])
            metrics = [
                {"key": "loss", "value": 1 / (step + 1 + index), "timestamp": 1, "step": step}
                for step in range(20)
            ]
            metrics.append({"key": "auc", "value": 0.8 + index / 10, "timestamp": 1, "step": 0})
            client.post(
                "/api/2.0/mlflow/runs/log-batch",
                json={
                    "run_id": run_id,
                    "metrics": metrics,
                    "params": [{"key": "depth", "value": depth}, {"key": "lr", "value": "0.1"}],
                    "tags": [{"key": "team", "value": "risk"}],
                },
            ).raise_for_status()
            client.post(
                "/api/2.0/mlflow/runs/update", json={"run_id": run_id, "status": "FINISHED"}
            ).raise_for_status()
            runs.append(run_id)
        return experiment_id, runs
