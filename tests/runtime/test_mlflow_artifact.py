"""Loading a `models:/<name>/<version>` artifact from a real MLflow server's registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelplane_runtime.app import load_model
from modelplane_runtime.errors import ArtifactUnreachable
from tests.mlflow_registry import register_onnx
from tests.onnx_models import mixed_input_model, model_bytes
from tests.runtime.conftest import SettingsFactory


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
