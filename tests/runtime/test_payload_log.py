"""Payload logs: the documented Parquet columns, object keys, sampling and the bounded buffer.

Unit tests capture uploads through the logger's own `Upload` gateway; the S3 tests at the end
write to the real S3 server and read the objects back with pyarrow.
"""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelplane_runtime.payload_log import object_key
from tests.onnx_models import linear_model, mixed_input_model
from tests.runtime.conftest import SettingsFactory, metric_value, open_client

FEATURES = [
    {"name": "amount_a", "type": "numerical", "input": "amount", "index": 0},
    {"name": "amount_b", "type": "numerical", "input": "amount", "index": 1},
    {"name": "count", "type": "numerical", "input": "count", "index": 0},
    {"name": "color", "type": "categorical", "input": "color", "index": 0},
]


class Captured:
    """An `Upload` that keeps what it is given."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def __call__(self, key: str, body: bytes) -> None:
        self.objects[key] = body

    def table(self) -> pa.Table:
        return pa.concat_tables(pq.read_table(io.BytesIO(b)) for b in self.objects.values())


def mixed_body(request_id: str, rows: int = 2) -> dict[str, Any]:
    return {
        "id": request_id,
        "inputs": [
            {
                "name": "amount",
                "datatype": "FP32",
                "shape": [rows, 2],
                "data": [float(i) for i in range(rows * 2)],
            },
            {"name": "count", "datatype": "INT64", "shape": [rows, 1], "data": list(range(rows))},
            {
                "name": "color",
                "datatype": "BYTES",
                "shape": [rows, 1],
                "data": ["red", "blue", "green"][:rows],
            },
        ],
    }


async def _serve_and_flush(settings: Any, upload: Any, bodies: list[dict[str, Any]]) -> str:
    app, client = await open_client(settings, upload)
    async with client:
        for body in bodies:
            assert (await client.post("/v2/models/demo/infer", json=body)).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert app.on_shutdown is not None
    await app.on_shutdown()
    return metrics


async def test_feature_schema_gives_one_column_per_feature(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        mixed_input_model(),
        payload_sample_rate=1.0,
        payload_bucket="b",
        feature_schema=FEATURES,
        payload_namespace="mp-acme",
        payload_deployment="fraud",
        payload_variant="candidate",
    )
    captured = Captured()
    await _serve_and_flush(settings, captured, [mixed_body("a", 2), mixed_body("b", 3)])
    table = captured.table()
    assert table.num_rows == 5
    schema = table.schema
    assert schema.field("request_id").type == pa.string()
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert schema.names == [
        "request_id",
        "ts",
        "model_name",
        "model_version",
        "variant",
        "feature.amount_a",
        "feature.amount_b",
        "feature.count",
        "feature.color",
        "output.score.0",
        "output.color_code.0",
    ]
    assert schema.field("feature.count").type == pa.float64()
    assert schema.field("feature.color").type == pa.string()
    assert schema.field("output.color_code.0").type == pa.float64()
    rows = table.to_pylist()
    assert [r["request_id"] for r in rows] == ["a", "a", "b", "b", "b"]
    assert rows[2] == rows[2] | {
        "model_name": "demo",
        "model_version": "3",
        "variant": "candidate",
        "feature.amount_a": 0.0,
        "feature.amount_b": 1.0,
        "feature.count": 0.0,
        "feature.color": "red",
        "output.color_code.0": 0.0,
    }
    assert rows[4]["feature.color"] == "green"
    assert abs(rows[0]["ts"] - datetime.now(UTC)).total_seconds() < 60
    key = next(iter(captured.objects))
    assert re.fullmatch(
        r"mp-acme/fraud/candidate/date=\d{4}-\d{2}-\d{2}/hour=\d{2}/"
        r"\d{8}T\d{12}Z-[0-9a-f]{32}\.parquet",
        key,
    ), key


async def test_without_a_feature_schema_every_input_element_is_a_column(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(linear_model(40), payload_sample_rate=1.0, payload_bucket="b")
    captured = Captured()
    row = np.arange(40, dtype=np.float32) / 8
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 40], "data": row.tolist()}]}
    await _serve_and_flush(settings, captured, [body])
    table = captured.table()
    names = table.schema.names
    assert [n for n in names if n.startswith("input.")] == [f"input.x.{i}" for i in range(40)]
    assert [n for n in names if n.startswith("output.")] == ["output.y.0"]
    assert table.column("input.x.17").to_pylist() == [17 / 8]
    assert table.column("request_id").to_pylist()[0]  # generated when the request has no id


async def test_output_columns_are_capped_at_32_elements_per_tensor(
    make_settings: SettingsFactory,
) -> None:
    from onnx import TensorProto, helper

    from tests.onnx_models import IR_VERSION, OPSET

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 50])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 50])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    settings = make_settings(model, payload_sample_rate=1.0, payload_bucket="b")
    captured = Captured()
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 50], "data": [1.0] * 50}]}
    await _serve_and_flush(settings, captured, [body])
    names = captured.table().schema.names
    assert sum(n.startswith("input.x.") for n in names) == 50
    assert [n for n in names if n.startswith("output.")] == [f"output.y.{i}" for i in range(32)]


async def test_sampling_rate_logs_about_that_fraction(make_settings: SettingsFactory) -> None:
    settings = make_settings(mixed_input_model(), payload_sample_rate=0.25, payload_bucket="b")
    captured = Captured()
    await _serve_and_flush(settings, captured, [mixed_body(str(i), 1) for i in range(200)])
    logged = captured.table().num_rows
    assert 20 <= logged <= 90, logged


async def test_a_full_buffer_drops_and_counts_rows_but_answers_requests(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(
        mixed_input_model(),
        payload_sample_rate=1.0,
        payload_bucket="b",
        payload_max_buffered_rows=4,
        payload_flush_rows=1000,
    )
    captured = Captured()
    metrics = await _serve_and_flush(settings, captured, [mixed_body(str(i), 3) for i in range(5)])
    labels = {"model": "demo", "version": "3"}
    dropped = metric_value(
        metrics, "modelplane_runtime_payload_log_rows_total", outcome="dropped_full", **labels
    )
    assert dropped is not None
    assert dropped >= 3
    assert captured.table().num_rows + dropped == 15


async def test_a_failing_store_is_counted_and_never_fails_requests(
    make_settings: SettingsFactory,
) -> None:
    def broken(key: str, body: bytes) -> None:
        raise OSError("store is down")

    settings = make_settings(mixed_input_model(), payload_sample_rate=1.0, payload_bucket="b")
    app, client = await open_client(settings, broken)
    async with client:
        assert (await client.post("/v2/models/demo/infer", json=mixed_body("x"))).status_code == 200
        assert app.on_shutdown is not None
        await app.on_shutdown()
        metrics = (await client.get("/metrics")).text
    assert (
        metric_value(
            metrics,
            "modelplane_runtime_payload_log_rows_total",
            outcome="dropped_error",
            model="demo",
            version="3",
        )
        == 2
    )


def test_object_key_layout() -> None:
    hour = datetime(2026, 3, 4, 5, tzinfo=UTC)
    now = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    key = object_key("ns", "dep", "stable", hour, now)
    assert key.startswith("ns/dep/stable/date=2026-03-04/hour=05/20260304T050607000890Z-")
    assert key.endswith(".parquet")


async def test_payload_logs_land_in_s3_as_readable_parquet(
    make_settings: SettingsFactory, s3: Any
) -> None:
    settings = make_settings(
        mixed_input_model(),
        payload_sample_rate=1.0,
        payload_bucket=s3.bucket,
        feature_schema=FEATURES,
        payload_namespace="mp-s3",
        payload_deployment="dep",
        payload_variant="stable",
        s3_endpoint_url=s3.endpoint_url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
        s3_region=s3.region,
    )
    from modelplane_runtime.app import default_upload

    await _serve_and_flush(
        settings, default_upload(settings), [mixed_body(f"s3-{i}", 2) for i in range(3)]
    )
    client = s3.client()
    listed = client.list_objects_v2(Bucket=s3.bucket, Prefix="mp-s3/dep/stable/")
    keys = [o["Key"] for o in listed.get("Contents", [])]
    assert keys
    table = pa.concat_tables(
        pq.read_table(io.BytesIO(client.get_object(Bucket=s3.bucket, Key=k)["Body"].read()))
        for k in keys
    )
    assert sorted(set(table.column("request_id").to_pylist())) == ["s3-0", "s3-1", "s3-2"]
    assert table.num_rows == 6
    assert table.column("feature.color").to_pylist()[:2] == ["red", "blue"]


def test_load_from_s3(make_settings: SettingsFactory, s3: Any, tmp_path: Any) -> None:
    from modelplane_runtime.app import load_model
    from tests.onnx_models import model_bytes

    data, digest = model_bytes(mixed_input_model())
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key="models/mixed/1/model.onnx", Body=data)
    settings = make_settings(
        mixed_input_model(),
        model_uri=f"s3://{s3.bucket}/models/mixed/1/model.onnx",
        model_sha256=digest,
        s3_endpoint_url=s3.endpoint_url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
        s3_region=s3.region,
        cache_dir=tmp_path / "c2",
    )
    model = load_model(settings)
    assert [s.name for s in model.signature.inputs] == ["amount", "count", "color"]
    assert (tmp_path / "c2" / f"{digest}.onnx").read_bytes() == data
    wrong = settings.model_copy(update={"model_sha256": "1" * 64, "cache_dir": tmp_path / "c3"})
    from modelplane_runtime.errors import DigestMismatch

    with pytest.raises(DigestMismatch):
        load_model(wrong)
    assert not (tmp_path / "c3" / f"{'1' * 64}.onnx").exists()


@pytest.mark.parametrize(
    ("flush", "rows"),
    [({"payload_flush_interval_s": 0.2}, 1), ({"payload_flush_rows": 3}, 3)],
    ids=["by-time", "by-size"],
)
async def test_buffer_is_flushed_while_serving(
    make_settings: SettingsFactory, flush: dict[str, Any], rows: int
) -> None:
    settings = make_settings(
        mixed_input_model(), payload_sample_rate=1.0, payload_bucket="b", **flush
    )
    captured = Captured()
    app, client = await open_client(settings, captured)
    async with client:
        response = await client.post("/v2/models/demo/infer", json=mixed_body("f", rows))
        assert response.status_code == 200
        for _ in range(100):
            if captured.objects:
                break
            await asyncio.sleep(0.02)
        assert captured.table().num_rows == rows
    assert app.on_shutdown is not None
    await app.on_shutdown()
    assert len(captured.objects) == 1  # nothing left over for the shutdown flush


def test_a_feature_naming_an_unknown_input_is_a_configuration_error(
    make_settings: SettingsFactory,
) -> None:
    from modelplane_runtime.app import create_app, load_model
    from modelplane_runtime.errors import ConfigurationError

    features = [{"name": "f", "type": "numerical", "input": "nope", "index": 0}]
    settings = make_settings(mixed_input_model(), feature_schema=features)
    with pytest.raises(ConfigurationError, match="input 'nope'"):
        create_app(settings, load_model(settings))
