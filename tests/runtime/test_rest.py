"""The OIP v2 REST surface, in process: every endpoint, and every way a request can be wrong."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from tests.onnx_models import mixed_input_model, model_bytes
from tests.runtime.conftest import SettingsFactory, metric_value, open_client

INFER = "/v2/models/demo/infer"


def valid_body() -> dict[str, Any]:
    return {
        "id": "req-1",
        "inputs": [
            {"name": "amount", "datatype": "FP32", "shape": [2, 2], "data": [0.5, 1.5, -2, 3]},
            {"name": "count", "datatype": "INT64", "shape": [2, 1], "data": [[4], [7]]},
            {"name": "color", "datatype": "BYTES", "shape": [2, 1], "data": ["red", "teal"]},
        ],
    }


def expected_outputs() -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model_bytes(mixed_input_model())[0])
    score, code = session.run(
        None,
        {
            "amount": np.array([[0.5, 1.5], [-2, 3]], dtype=np.float32),
            "count": np.array([[4], [7]], dtype=np.int64),
            "color": np.array([["red"], ["teal"]], dtype=object),
        },
    )
    return {"score": score, "color_code": code}


async def test_health_and_server_metadata_answer(mixed_client: httpx.AsyncClient) -> None:
    for path in ("/v2/health/live", "/v2/health/ready", "/health", "/ready"):
        assert (await mixed_client.get(path)).status_code == 200, path
    meta = (await mixed_client.get("/v2")).json()
    assert meta["name"] == "modelplane-runtime"
    assert "binary_tensor_data" in meta["extensions"]


async def test_model_metadata_lists_the_declared_signature_and_version(
    mixed_client: httpx.AsyncClient,
) -> None:
    for path in ("/v2/models/demo", "/v2/models/demo/versions/3"):
        meta = (await mixed_client.get(path)).json()
        assert meta["name"] == "demo"
        assert meta["versions"] == ["3"]
        assert [i["name"] for i in meta["inputs"]] == ["amount", "count", "color"]
        assert meta["inputs"][2] == {"name": "color", "datatype": "BYTES", "shape": [-1, 1]}
    ready = await mixed_client.get("/v2/models/demo/versions/3/ready")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True


async def test_infer_returns_onnxruntime_outputs_with_id_and_version(
    mixed_client: httpx.AsyncClient,
) -> None:
    response = await mixed_client.post(INFER, json=valid_body())
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["id"] == "req-1"
    assert doc["model_name"] == "demo"
    assert doc["model_version"] == "3"
    expected = expected_outputs()
    outputs = {o["name"]: o for o in doc["outputs"]}
    assert outputs["score"]["datatype"] == "FP32"
    assert outputs["score"]["shape"] == [2, 1]
    np.testing.assert_array_equal(
        np.array(outputs["score"]["data"], dtype=np.float32), expected["score"].ravel()
    )
    assert outputs["color_code"] == {
        "name": "color_code",
        "datatype": "INT64",
        "shape": [2, 1],
        "data": expected["color_code"].ravel().tolist(),
    }


async def test_infer_on_the_versioned_path_and_output_selection(
    mixed_client: httpx.AsyncClient,
) -> None:
    body = valid_body() | {"outputs": [{"name": "color_code"}]}
    doc = (await mixed_client.post("/v2/models/demo/versions/3/infer", json=body)).json()
    assert [o["name"] for o in doc["outputs"]] == ["color_code"]
    assert doc["outputs"][0]["data"] == [0, -1]


def _mutate(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(valid_body())
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


_DELETE = object()

INVALID_BODIES = [
    pytest.param(
        ("inputs", 0, "datatype"),
        "FP64",
        "datatype FP64, the model expects FP32",
        id="wrong-datatype",
    ),
    pytest.param(("inputs", 0, "shape"), [2, 3], "dimension 1 must be 2", id="wrong-dimension"),
    pytest.param(("inputs", 0, "shape"), [4], "rank 1", id="wrong-rank"),
    pytest.param(
        ("inputs", 0, "data"),
        [0.5, 1.5, -2],
        "has 3 elements but shape [2, 2] needs 4",
        id="element-count",
    ),
    pytest.param(("inputs", 0, "data"), ["a", "b", "c", "d"], "non-numeric", id="strings-in-fp32"),
    pytest.param(("inputs", 1, "data"), [1.5, 2], "non-integer", id="float-in-int64"),
    pytest.param(("inputs", 1, "data"), [2**70, 1], "INT64", id="int64-overflow"),
    pytest.param(("inputs", 2, "data"), ["red", 3], "non-string", id="number-in-bytes"),
    pytest.param(("inputs", 0, "data"), [[1, 2], [3]], "non-ragged", id="ragged"),
    pytest.param(
        ("inputs", 0, "name"), "amount_typo", "unknown input 'amount_typo'", id="unknown-input"
    ),
    pytest.param(("inputs", 2), _DELETE, "missing input(s) ['color']", id="missing-input"),
    pytest.param(("inputs", 1, "shape"), [3, 1], "", id="batch-mismatch"),
    pytest.param(("inputs",), [], "'inputs' must be a non-empty list", id="no-inputs"),
    pytest.param(("input",), [], "unknown request field(s): ['input']", id="unknown-field"),
    pytest.param(("outputs",), [{"name": "nope"}], "unknown output 'nope'", id="unknown-output"),
    pytest.param(("inputs", 0, "shape"), [2, -2], "non-negative integers", id="negative-dim"),
    pytest.param(("inputs", 0, "data"), _DELETE, "'data' is missing", id="no-data"),
    pytest.param(("id",), 5, "'id' must be a string", id="id-not-string"),
]


@pytest.mark.parametrize(("path", "value", "message"), INVALID_BODIES)
async def test_invalid_request_is_400_with_an_oip_error_body(
    mixed_client: httpx.AsyncClient, path: tuple[Any, ...], value: Any, message: str
) -> None:
    response = await mixed_client.post(INFER, json=_mutate(path, value))
    assert response.status_code == 400, response.text
    assert list(response.json()) == ["error"]
    assert message in response.json()["error"]


async def test_nan_and_infinity_are_refused_by_default(mixed_client: httpx.AsyncClient) -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        body = (
            b'{"inputs":[{"name":"amount","datatype":"FP32","shape":[1,2],"data":[1,'
            + literal.encode()
            + b']},{"name":"count","datatype":"INT64","shape":[1,1],'
            b'"data":[1]},{"name":"color","datatype":"BYTES","shape":[1,1],"data":["red"]}]}'
        )
        response = await mixed_client.post(INFER, content=body)
        assert response.status_code == 400, literal
        assert "NaN or infinite" in response.json()["error"]


async def test_fp32_overflow_counts_as_infinite(mixed_client: httpx.AsyncClient) -> None:
    response = await mixed_client.post(INFER, json=_mutate(("inputs", 0, "data"), [1e39, 0, 0, 0]))
    assert response.status_code == 400
    assert "NaN or infinite" in response.json()["error"]


async def test_nan_is_accepted_when_the_policy_allows_it(make_settings: SettingsFactory) -> None:
    _app, client = await open_client(make_settings(mixed_input_model(), allow_non_finite=True))
    body = (
        b'{"inputs":[{"name":"amount","datatype":"FP32","shape":[1,2],"data":[1,NaN]},'
        b'{"name":"count","datatype":"INT64","shape":[1,1],"data":[1]},'
        b'{"name":"color","datatype":"BYTES","shape":[1,1],"data":["red"]}]}'
    )
    async with client:
        response = await client.post(INFER, content=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b"\xff\xfe", b""])
async def test_malformed_json_is_400(mixed_client: httpx.AsyncClient, body: bytes) -> None:
    response = await mixed_client.post(INFER, content=body)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_body_larger_than_the_limit_is_400(make_settings: SettingsFactory) -> None:
    _app, client = await open_client(make_settings(mixed_input_model(), max_body_bytes=256))
    body = valid_body()
    body["inputs"][0]["data"] = [0.123456789] * 4
    body["id"] = "x" * 300
    async with client:
        response = await client.post(INFER, json=body)
    assert response.status_code == 400
    assert "larger than the limit of 256 bytes" in response.json()["error"]


async def test_batch_larger_than_the_limit_is_400(make_settings: SettingsFactory) -> None:
    _app, client = await open_client(make_settings(mixed_input_model(), max_batch_size=1))
    async with client:
        response = await client.post(INFER, json=valid_body())
    assert response.status_code == 400
    assert "batch of 2 rows, the limit is 1" in response.json()["error"]


@pytest.mark.parametrize("path", ["/v2/models/other/infer", "/v2/models/demo/versions/9/infer"])
async def test_unknown_model_or_version_is_404(mixed_client: httpx.AsyncClient, path: str) -> None:
    response = await mixed_client.post(path, json=valid_body())
    assert response.status_code == 404
    assert "not served here" in response.json()["error"] or "no version" in response.json()["error"]
    assert (await mixed_client.get(path.removesuffix("/infer"))).status_code == 404


async def test_unknown_routes_and_methods_get_json_errors(mixed_client: httpx.AsyncClient) -> None:
    assert (await mixed_client.get("/v3/nothing")).status_code == 404
    assert (await mixed_client.get("/v2/models/demo/wat")).status_code == 404
    response = await mixed_client.get(INFER)
    assert response.status_code == 405
    assert "POST" in response.json()["error"]
    assert (await mixed_client.delete("/v2/models/demo")).status_code == 405


async def test_metrics_count_requests_by_code_violations_and_model_info(
    mixed_client: httpx.AsyncClient,
) -> None:
    await mixed_client.post(INFER, json=valid_body())
    await mixed_client.post(INFER, json=_mutate(("inputs", 0, "datatype"), "FP64"))
    await mixed_client.post(INFER, content=b"{")
    text = (await mixed_client.get("/metrics")).text
    model = {"model": "demo", "version": "3"}
    assert metric_value(text, "modelplane_runtime_requests_total", code="200", **model) == 1
    assert metric_value(text, "modelplane_runtime_requests_total", code="400", **model) == 2
    for violation in ("datatype", "malformed_json"):
        assert (
            metric_value(
                text, "modelplane_runtime_schema_violations_total", violation=violation, **model
            )
            == 1
        )
    assert metric_value(text, "modelplane_runtime_request_duration_seconds_count", **model) == 3
    assert metric_value(text, "modelplane_runtime_batch_size_count", **model) == 1
    digest = model_bytes(mixed_input_model())[1]
    assert metric_value(text, "modelplane_runtime_model_info", sha256=digest, **model) == 1
