"""Registering a test ONNX model in a real MLflow server's Model Registry, as a data scientist's
client would: a run, its artifact uploaded through the server's proxy, a registered version."""

from __future__ import annotations

import uuid

import httpx


def register_onnx(mlflow_uri: str, data: bytes) -> tuple[str, str]:
    """Log `model/model.onnx` into a new run (through MLflow's artifact proxy) and register it
    as a version of a new registered model; returns (name, version)."""
    name = f"test-model-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=mlflow_uri.rstrip("/"), timeout=30) as client:
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
