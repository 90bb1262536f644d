"""Loading refuses every artifact that must not be served, with the reason the operator shows."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from modelplane_runtime.app import load_model
from modelplane_runtime.artifact import fetch_artifact
from modelplane_runtime.errors import (
    ArtifactError,
    ArtifactTooLarge,
    ArtifactUnreachable,
    DigestMismatch,
    NotOnnx,
    SignatureMismatch,
    UnsafeModel,
)
from tests.onnx_models import (
    custom_op_model,
    external_data_model,
    linear_model,
    mixed_input_model,
    mlp_model,
    signature_of,
)
from tests.runtime.conftest import SettingsFactory


@pytest.mark.parametrize(
    "model", [linear_model(20), mlp_model(), mixed_input_model()], ids=["linear", "mlp", "mixed"]
)
def test_models_load_from_file_uri_and_predict(
    make_settings: SettingsFactory, model: onnx.ModelProto
) -> None:
    loaded = load_model(make_settings(model))
    inputs: dict[str, np.ndarray] = {}
    for spec in loaded.signature.inputs:
        shape = [2 if d == -1 else d for d in spec.shape]
        inputs[spec.name] = (
            np.full(shape, "red", dtype=object)
            if spec.datatype == "BYTES"
            else np.ones(shape, dtype=np.int64 if spec.datatype == "INT64" else np.float32)
        )
    outputs = loaded.predict(inputs)
    assert set(outputs) == {s.name for s in loaded.signature.outputs}
    assert all(o.shape[0] == 2 for o in outputs.values())


def test_digest_mismatch_is_refused(make_settings: SettingsFactory) -> None:
    settings = make_settings(model_sha256="0" * 64)
    with pytest.raises(DigestMismatch, match="expected 0000"):
        load_model(settings)


def test_missing_artifact_is_unreachable(make_settings: SettingsFactory, tmp_path: Path) -> None:
    settings = make_settings(model_uri=(tmp_path / "nope.onnx").as_uri())
    with pytest.raises(ArtifactUnreachable, match="does not exist"):
        load_model(settings)


def test_unknown_uri_scheme_is_unreachable(make_settings: SettingsFactory) -> None:
    with pytest.raises(ArtifactUnreachable, match="unsupported artifact URI scheme"):
        load_model(make_settings(model_uri="ftp://host/model.onnx"))


def test_oversize_artifact_is_refused(make_settings: SettingsFactory) -> None:
    with pytest.raises(ArtifactTooLarge, match="limit is 100"):
        load_model(make_settings(max_artifact_bytes=100))


def _settings_for_bytes(
    make_settings: SettingsFactory, tmp_path: Path, data: bytes, signature: dict[str, Any]
) -> Any:
    path = tmp_path / "other.onnx"
    path.write_bytes(data)
    return make_settings(
        model_uri=path.as_uri(), model_sha256=hashlib.sha256(data).hexdigest(), signature=signature
    )


def test_a_pickle_is_not_onnx_and_is_never_unpickled(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    # A pickle that would create `marker` if anything unpickled it.
    payload = b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    settings = _settings_for_bytes(make_settings, tmp_path, payload, signature_of(linear_model()))
    with pytest.raises(NotOnnx):
        load_model(settings)
    assert not marker.exists()


def test_random_bytes_are_not_onnx(make_settings: SettingsFactory, tmp_path: Path) -> None:
    settings = _settings_for_bytes(
        make_settings, tmp_path, b"\x00\x01hello world" * 10, signature_of(linear_model())
    )
    with pytest.raises(NotOnnx):
        load_model(settings)


def test_external_data_tensors_are_refused(make_settings: SettingsFactory, tmp_path: Path) -> None:
    model = external_data_model(tmp_path)
    settings = _settings_for_bytes(
        make_settings, tmp_path, model.SerializeToString(), signature_of(model)
    )
    with pytest.raises(UnsafeModel, match="external data"):
        load_model(settings)


def test_custom_op_domains_are_refused(make_settings: SettingsFactory, tmp_path: Path) -> None:
    model = custom_op_model()
    settings = _settings_for_bytes(
        make_settings, tmp_path, model.SerializeToString(), signature_of(model)
    )
    with pytest.raises(UnsafeModel, match=r"com\.example\.custom"):
        load_model(settings)


def test_node_count_cap_is_enforced(make_settings: SettingsFactory) -> None:
    with pytest.raises(UnsafeModel, match="9 nodes, more than 2"):
        load_model(make_settings(mlp_model(), max_nodes=2))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["inputs"][0].update(datatype="FP64"), "is FP32 in the model, declared FP64"),
        (
            lambda s: s["inputs"][0].update(shape=[-1, 5]),
            "has shape [-1, 4] in the model, declared [-1, 5]",
        ),
        (lambda s: s["inputs"][0].update(name="features"), "input 'features' is not in the model"),
        (
            lambda s: s["outputs"].append({"name": "extra", "datatype": "FP32", "shape": [-1]}),
            "output 'extra' is not in the model",
        ),
    ],
    ids=["datatype", "shape", "input-name", "extra-output"],
)
def test_declared_signature_must_match_the_graph(
    make_settings: SettingsFactory, change: Any, message: str
) -> None:
    signature = signature_of(linear_model(4))
    change(signature)
    with pytest.raises(SignatureMismatch) as info:
        load_model(make_settings(linear_model(4), signature=signature))
    assert message in str(info.value)


def test_a_fixed_declared_batch_dimension_is_compatible_with_a_dynamic_graph(
    make_settings: SettingsFactory,
) -> None:
    signature = signature_of(linear_model(4))
    signature["inputs"][0]["shape"] = [1, 4]
    signature["outputs"][0]["shape"] = [1, 1]
    model = load_model(make_settings(linear_model(4), signature=signature))
    assert not model.batchable


def test_verified_downloads_are_reused_from_the_cache(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    cached = settings.cache_dir / f"{settings.model_sha256}.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"corrupted")
    s3_settings = settings.model_copy(update={"model_uri": "s3://nowhere/model.onnx"})
    with pytest.raises(ArtifactError):  # corrupted cache entry is dropped, the fetch is tried
        fetch_artifact(s3_settings)
    assert not cached.exists()
    cached.write_bytes(Path(settings.model_uri.removeprefix("file://")).read_bytes())
    assert hashlib.sha256(fetch_artifact(s3_settings)).hexdigest() == settings.model_sha256


def test_the_runtime_loads_what_the_operator_accepts(make_settings: SettingsFactory) -> None:
    """One policy: a signature that declares a dynamic size where the graph has a fixed one, and
    leaves a graph output undeclared, verifies in the operator, so pods must load it too."""
    from modelplane_cli.demo import build_model

    model = onnx.load_model_from_string(build_model())
    signature = signature_of(model)
    assert [o["name"] for o in signature["outputs"]] == ["label", "probabilities"]
    signature["inputs"][0]["shape"] = [-1, -1]
    signature["outputs"] = signature["outputs"][1:]
    loaded = load_model(make_settings(model, signature=signature))
    assert loaded.output_names == ["probabilities"]
