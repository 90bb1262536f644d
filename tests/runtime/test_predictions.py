"""The prediction distribution the runtime exports: a histogram per numerical output, a counter
per class of a label output, bounded, recorded once per `session.run`."""

from __future__ import annotations

import asyncio

import numpy as np
import onnxruntime as ort
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector
from pydantic import ValidationError

from modelplane_runtime.metrics import LABELS
from modelplane_runtime.predictions import DEFAULT_BUCKETS, OTHER, PredictionMetrics
from modelplane_runtime.settings import TensorSpec
from tests.onnx_models import linear_model, model_bytes
from tests.runtime.conftest import SettingsFactory, metric_value, open_client

VALUE = "modelplane_runtime_prediction_value"
CLASS = "modelplane_runtime_prediction_class_total"
MODEL = {"model": "demo", "version": "3"}


def spec(name: str, datatype: str, *shape: int) -> TensorSpec:
    return TensorSpec.model_validate({"name": name, "datatype": datatype, "shape": list(shape)})


def exposition(predictions: PredictionMetrics) -> str:
    class Exported(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return predictions.collect(("demo", "3"), LABELS)

    registry = CollectorRegistry()
    registry.register(Exported())
    return generate_latest(registry).decode()


def test_numerical_outputs_fill_a_histogram_per_batch_and_skip_non_finite_values() -> None:
    predictions = PredictionMetrics([spec("y", "FP32", -1, 1)], buckets={"y": (0.0, 0.5, 1.0)})
    predictions.observe({"y": np.array([[0.2], [0.5], [0.7], [0.9], [3.0]], np.float32)})
    predictions.observe({"y": np.array([[0.1]], np.float32)})  # one row: the scalar path
    predictions.observe({"y": np.array([[np.nan], [np.inf], [0.6]], np.float32)})
    text = exposition(predictions)
    y = {**MODEL, "output": "y"}
    assert metric_value(text, f"{VALUE}_bucket", le="0.0", **y) == 0
    assert metric_value(text, f"{VALUE}_bucket", le="0.5", **y) == 3  # 0.2, 0.5 (le), 0.1
    assert metric_value(text, f"{VALUE}_bucket", le="1.0", **y) == 6
    assert metric_value(text, f"{VALUE}_bucket", le="+Inf", **y) == 7
    assert metric_value(text, f"{VALUE}_count", **y) == 7
    assert metric_value(text, f"{VALUE}_sum", **y) == pytest.approx(6.0, rel=1e-6)


def test_label_outputs_count_each_class_up_to_the_cap_then_other() -> None:
    predictions = PredictionMetrics(
        [spec("label", "INT64", -1), spec("kind", "BYTES", -1), spec("flag", "BOOL", -1, 1)],
        max_classes=2,
    )
    predictions.observe(
        {
            "label": np.array([0, 1, 1, 2, 1, 3], np.int64),
            "kind": np.array(["cat", "dog", "x" * 100], dtype=object),
            "flag": np.array([[True], [False], [True]]),
        }
    )
    predictions.observe({"label": np.array([2], np.int64), "kind": np.array(["cat"], dtype=object)})
    # negative and large labels take np.unique's path, not the bincount
    predictions.observe({"label": np.array([-1, 0, 10**9], np.int64)})
    text = exposition(predictions)

    def count(output: str, klass: str) -> float | None:
        return metric_value(text, CLASS, output=output, **{"class": klass}, **MODEL)

    # the first two classes seen (in sorted batch order 0, 1) are kept; 2, 3, -1, 10**9 "other"
    assert (count("label", "0"), count("label", "1"), count("label", OTHER)) == (2, 3, 5)
    assert count("label", "2") is None
    assert (count("kind", "cat"), count("kind", "dog"), count("kind", OTHER)) == (2, 1, 1)
    assert (count("flag", "true"), count("flag", "false")) == (2, 1)
    unsigned = PredictionMetrics([spec("code", "UINT64", -1)])
    unsigned.observe({"code": np.array([7, 7, 9], np.uint64)})
    assert unsigned.classes[0].shares() == {"7": 2, "9": 1}


def test_probability_maps_and_fixed_shapes_are_not_tracked() -> None:
    predictions = PredictionMetrics(
        [spec("probabilities", "FP32", -1, 3), spec("embedding", "FP32", -1, -1)]
    )
    assert not predictions.enabled
    many = PredictionMetrics([spec(f"y{i}", "FP32", -1) for i in range(40)])
    assert len(many.values) == 16  # bounded series per pod


def test_default_bounds_are_symmetric_and_fine_between_zero_and_one() -> None:
    assert len(DEFAULT_BUCKETS) == 55
    assert tuple(sorted(DEFAULT_BUCKETS)) == DEFAULT_BUCKETS
    assert tuple(-b for b in reversed(DEFAULT_BUCKETS)) == DEFAULT_BUCKETS
    assert {0.1, 0.5, 0.9, 1.0, 50_000.0} <= set(DEFAULT_BUCKETS)


def test_bucket_settings_must_be_finite_and_increasing(make_settings: SettingsFactory) -> None:
    for bad in ({"y": ()}, {"y": (1.0, 1.0)}, {"y": (0.0, float("inf"))}):
        with pytest.raises(ValidationError):
            make_settings(prediction_buckets=bad)


async def test_served_predictions_show_in_the_metrics_once_per_row(
    make_settings: SettingsFactory,
) -> None:
    model = linear_model(4, labelled=True)
    rows = np.random.default_rng(3).normal(size=(50, 4)).astype(np.float32)
    y, label = ort.InferenceSession(model_bytes(model)[0]).run(None, {"x": rows})
    app, client = await open_client(make_settings(model))
    async with client:
        one = {"name": "x", "datatype": "FP32", "shape": [10, 4]}
        for start in range(0, 50, 10):
            body = {"inputs": [{**one, "data": rows[start : start + 10].ravel().tolist()}]}
            answer = await client.post("/v2/models/demo/infer", json=body)
            assert answer.status_code == 200, answer.text
        text = (await client.get("/metrics")).text
    assert app.on_shutdown is not None
    await app.on_shutdown()
    assert metric_value(text, f"{VALUE}_count", output="y", **MODEL) == 50
    assert metric_value(text, f"{VALUE}_sum", output="y", **MODEL) == pytest.approx(
        float(y.sum()), rel=1e-5
    )
    ones = int(label.sum())
    assert metric_value(text, CLASS, output="label", **{"class": "1"}, **MODEL) == ones
    assert metric_value(text, CLASS, output="label", **{"class": "0"}, **MODEL) == 50 - ones


async def test_merged_batches_are_recorded_once_and_the_switch_turns_it_off(
    make_settings: SettingsFactory,
) -> None:
    model = linear_model(4, labelled=True)
    rows = np.random.default_rng(4).normal(size=(40, 4)).astype(np.float32)
    for enabled in (True, False):
        settings = make_settings(
            model,
            inline_threshold_ms=0,
            max_latency_ms=20,
            max_batch_size=16,
            prediction_metrics=enabled,
        )
        app, client = await open_client(settings)
        async with client:
            one = {"name": "x", "datatype": "FP32", "shape": [1, 4]}
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/v2/models/demo/infer", json={"inputs": [{**one, "data": row.tolist()}]}
                    )
                    for row in rows
                )
            )
            assert all(a.status_code == 200 for a in answers)
            text = (await client.get("/metrics")).text
        assert app.on_shutdown is not None
        await app.on_shutdown()
        merged = metric_value(text, "modelplane_runtime_batch_requests_count", **MODEL)
        assert merged is not None
        assert merged < 40  # some requests shared a session.run
        counted = metric_value(text, f"{VALUE}_count", output="y", **MODEL)
        assert counted == (40 if enabled else None)
