"""Loading a `models:/<name>/<version>` artifact from a real MLflow server's registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelplane_cli.local.services import MLflow
from modelplane_runtime.app import load_model
from modelplane_runtime.errors import ArtifactUnreachable
from tests.mlflow_registry import register_onnx
from tests.onnx_models import mixed_input_model, model_bytes
from tests.runtime.conftest import SettingsFactory


@pytest.mark.parametrize("with_token", [True, False], ids=["pods-token", "no-token"])
def test_models_uri_loads_through_the_mlflow_registry_with_the_pods_token_only(
    make_settings: SettingsFactory, mlflow_server: MLflow, tmp_path: Path, with_token: bool
) -> None:
    data, digest = model_bytes(mixed_input_model())
    name, version = register_onnx(mlflow_server, data)
    settings = make_settings(
        mixed_input_model(),
        model_uri=f"models:/{name}/{version}",
        model_sha256=digest,
        mlflow_tracking_uri=mlflow_server.url,
        # The serving pods' token: downloads only (modelplane_cli.mlflow_guard).
        mlflow_token=mlflow_server.reader_token if with_token else None,
        cache_dir=tmp_path / "mlflow-cache",
    )
    if not with_token:
        with pytest.raises(ArtifactUnreachable, match="MLflow answered 401"):
            load_model(settings)
        return
    model = load_model(settings)
    assert model.output_names == ["score", "color_code"]
    assert (tmp_path / "mlflow-cache" / f"{digest}.onnx").read_bytes() == data


def test_unknown_registry_version_is_unreachable(
    make_settings: SettingsFactory, mlflow_server: MLflow
) -> None:
    settings = make_settings(
        mixed_input_model(),
        model_uri="models:/no-such-model/7",
        mlflow_tracking_uri=mlflow_server.url,
        mlflow_token=mlflow_server.reader_token,
    )
    with pytest.raises(ArtifactUnreachable, match="MLflow answered 404"):
        load_model(settings)
