"""A real third-party OIP v2 client, tritonclient's HTTP InferenceServerClient, works unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from modelplane_runtime.settings import RuntimeSettings
from tests.onnx_models import mixed_input_model, model_bytes, signature_of, write_model
from tests.runtime.conftest import RuntimeProcess


@pytest.fixture(scope="module")
def triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpclient.InferenceServerClient]:
    """One real runtime process for the module, serving the mixed-input model."""
    tmp = tmp_path_factory.mktemp("triton")
    model = mixed_input_model()
    path, digest = write_model(model, tmp / "model.onnx")
    settings = RuntimeSettings(
        model_name="demo",
        model_version="3",
        model_uri=path.as_uri(),
        model_sha256=digest,
        signature=signature_of(model),
        cache_dir=tmp / "cache",
        host="127.0.0.1",
    )
    proc = RuntimeProcess(settings, tmp / "runtime.log")
    try:
        proc.wait_ready()
        client = httpclient.InferenceServerClient(url=f"127.0.0.1:{proc.port}")
        yield client
        client.close()
    finally:
        proc.terminate()


def _inputs(binary: bool) -> tuple[list[httpclient.InferInput], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {
        "amount": np.array([[1.5, -2.0], [0.25, 4.0], [3.0, 3.0]], dtype=np.float32),
        "count": np.array([[1], [5], [9]], dtype=np.int64),
        "color": np.array([["blue"], ["red"], ["mauve"]], dtype=object),
    }
    inputs = []
    for name, array in arrays.items():
        datatype = {"amount": "FP32", "count": "INT64", "color": "BYTES"}[name]
        tensor = httpclient.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    return inputs, arrays


def _expected(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model_bytes(mixed_input_model())[0])
    score, code = session.run(None, arrays)
    return {"score": score, "color_code": code}


def test_health_and_metadata(triton: httpclient.InferenceServerClient) -> None:
    assert triton.is_server_live()
    assert triton.is_server_ready()
    assert triton.is_model_ready("demo")
    assert triton.is_model_ready("demo", "3")
    assert not triton.is_model_ready("other")
    meta = triton.get_model_metadata("demo")
    assert meta["versions"] == ["3"]
    assert {i["name"]: i["datatype"] for i in meta["inputs"]} == {
        "amount": "FP32",
        "count": "INT64",
        "color": "BYTES",
    }
    assert triton.get_server_metadata()["name"] == "modelplane-runtime"


@pytest.mark.parametrize("binary_inputs", [False, True], ids=["json-inputs", "binary-inputs"])
def test_infer_without_requested_outputs_returns_all(
    triton: httpclient.InferenceServerClient, binary_inputs: bool
) -> None:
    inputs, arrays = _inputs(binary_inputs)
    result = triton.infer("demo", inputs, request_id="t-1")
    expected = _expected(arrays)
    np.testing.assert_array_equal(result.as_numpy("score"), expected["score"])
    np.testing.assert_array_equal(result.as_numpy("color_code"), expected["color_code"])
    response = result.get_response()
    assert response["id"] == "t-1"
    assert response["model_version"] == "3"


@pytest.mark.parametrize("binary_output", [False, True], ids=["json-output", "binary-output"])
def test_infer_with_requested_outputs(
    triton: httpclient.InferenceServerClient, binary_output: bool
) -> None:
    inputs, arrays = _inputs(False)
    outputs = [httpclient.InferRequestedOutput("color_code", binary_data=binary_output)]
    result = triton.infer("demo", inputs, outputs=outputs, model_version="3")
    np.testing.assert_array_equal(result.as_numpy("color_code"), _expected(arrays)["color_code"])
    assert result.as_numpy("score") is None


def test_invalid_input_surfaces_the_server_message(
    triton: httpclient.InferenceServerClient,
) -> None:
    tensor = httpclient.InferInput("amount", [1, 3], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32), binary_data=False)
    with pytest.raises(InferenceServerException, match="dimension 1 must be 2"):
        triton.infer("demo", [tensor])
