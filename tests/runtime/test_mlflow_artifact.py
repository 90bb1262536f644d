"""Loading a `models:/<name>/<version>` artifact from a real MLflow server's registry."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from modelplane_runtime.app import load_model
from modelplane_runtime.errors import ArtifactUnreachable
from tests.onnx_models import mixed_input_model, model_bytes
from tests.runtime.conftest import SettingsFactory


def register_onnx(mlflow_uri: str, data: bytes) -> tuple[str, str]:
    """Log `model/model.onnx` into a new run (through MLflow's artifact proxy) and register it
    as a version of a new registered model; returns (name, version)."""
    name = f"runtime-test-{uuid.uuid4().hex[:8]}"
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


def test_models_uri_loads_through_the_mlflow_registry(
    make_settings: SettingsFactory, mlflow_uri: str, tmp_path: Path
) -> None:
    data, digest = model_bytes(mixed_input_model())
    name, version = register_onnx(mlflow_uri, data)
    settings = make_settings(
        mixed_input_model(),
        model_uri=f"models:/{name}/{version}",
        model_sha256=digest,
        mlflow_tracking_uri=mlflow_uri,
        cache_dir=tmp_path / "mlflow-cache",
    )
    model = load_model(settings)
    assert model.output_names == ["score", "color_code"]
    assert (tmp_path / "mlflow-cache" / f"{digest}.onnx").read_bytes() == data


def test_unknown_registry_version_is_unreachable(
    make_settings: SettingsFactory, mlflow_uri: str
) -> None:
    settings = make_settings(
        mixed_input_model(), model_uri="models:/no-such-model/7", mlflow_tracking_uri=mlflow_uri
    )
    with pytest.raises(ArtifactUnreachable, match="MLflow answered"):
        load_model(settings)
