"""Adaptive batching merges concurrent requests and gives exactly the unbatched results."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import onnxruntime as ort

from tests.onnx_models import mlp_model, model_bytes
from tests.runtime.conftest import SettingsFactory, metric_value, open_client

N_FEATURES = 20


def _body(row: np.ndarray, request_id: str) -> dict[str, object]:
    return {
        "id": request_id,
        "inputs": [
            {
                "name": "x",
                "datatype": "FP32",
                "shape": list(row.shape),
                "data": row.ravel().tolist(),
            }
        ],
    }


async def _infer_all(client: httpx.AsyncClient, rows: list[np.ndarray]) -> list[np.ndarray]:
    responses = await asyncio.gather(
        *(client.post("/v2/models/demo/infer", json=_body(r, str(i))) for i, r in enumerate(rows))
    )
    results = []
    for i, response in enumerate(responses):
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["id"] == str(i)
        out = doc["outputs"][0]
        results.append(np.array(out["data"], dtype=np.float32).reshape(out["shape"]))
    return results


async def test_concurrent_requests_are_merged_and_match_unbatched_inference(
    make_settings: SettingsFactory,
) -> None:
    model = mlp_model(N_FEATURES)
    rng = np.random.default_rng(7)
    rows = [
        rng.normal(size=(int(rng.integers(1, 4)), N_FEATURES)).astype(np.float32) for _ in range(40)
    ]
    session = ort.InferenceSession(model_bytes(model)[0])
    expected = [session.run(None, {"x": r})[0] for r in rows]

    settings = make_settings(model, inline_threshold_ms=0, max_latency_ms=20, max_batch_size=16)
    app, client = await open_client(settings)
    async with client:
        batched = await _infer_all(client, rows)
        metrics = (await client.get("/metrics")).text
    assert app.on_shutdown is not None
    await app.on_shutdown()
    for got, want in zip(batched, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    labels = {"model": "demo", "version": "3"}
    runs = metric_value(metrics, "modelplane_runtime_batch_requests_count", **labels)
    assert runs is not None
    assert runs < len(rows), "no two requests were merged"
    rows_total = metric_value(metrics, "modelplane_runtime_batch_size_sum", **labels)
    assert rows_total == sum(len(r) for r in rows)
    singles = metric_value(metrics, "modelplane_runtime_batch_size_bucket", le="16.0", **labels)
    assert singles == runs, "a merged batch exceeded max_batch_size"


async def test_cheap_models_run_inline_one_request_per_run(make_settings: SettingsFactory) -> None:
    rng = np.random.default_rng(3)
    rows = [rng.normal(size=(1, N_FEATURES)).astype(np.float32) for _ in range(10)]
    _app, client = await open_client(make_settings(mlp_model(N_FEATURES), inline_threshold_ms=1000))
    async with client:
        await _infer_all(client, rows)
        metrics = (await client.get("/metrics")).text
    labels = {"model": "demo", "version": "3"}
    assert metric_value(metrics, "modelplane_runtime_batch_requests_count", **labels) == 10
    assert metric_value(metrics, "modelplane_runtime_batch_requests_sum", **labels) == 10


async def test_requests_with_different_trailing_shapes_are_batched_separately(
    make_settings: SettingsFactory,
) -> None:
    from onnx import TensorProto, helper

    from tests.onnx_models import IR_VERSION, OPSET

    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = helper.make_graph(
        [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)],
        "rowsum",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "n"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        initializer=[axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    settings = make_settings(model, inline_threshold_ms=0, max_latency_ms=10)
    rows = [np.full((1, 2 + i % 3), float(i), dtype=np.float32) for i in range(12)]
    _app, client = await open_client(settings)
    async with client:
        results = await _infer_all(client, rows)
    for row, result in zip(rows, results, strict=True):
        assert result.tolist() == [[float(row.sum())]]
