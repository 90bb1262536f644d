"""Shadow copies: a stable runtime copies answered requests to a candidate and compares.

The comparison rule is tested on its own; the mirroring with two real runtime processes on
loopback (the stable one told the candidate's URL, as the operator tells serving pods the
deployment's shadow Service).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from modelplane_runtime.shadow import compare
from tests.onnx_models import linear_model, write_model
from tests.runtime.conftest import RuntimeProcess, SettingsFactory, metric_value

COMPARISONS = "modelplane_runtime_shadow_comparisons_total"


def _out(data: list[float] | np.ndarray, shape: list[int], name: str = "y") -> dict[str, object]:
    return {"name": name, "datatype": "FP32", "shape": shape, "data": data}


def test_outputs_agree_within_the_tolerance_relative_to_the_stable_value() -> None:
    ours = [_out(np.array([0.5, 200.0], dtype=np.float32), [2, 1])]
    assert compare(ours, [_out([0.5, 200.0], [2, 1])], 0.0)
    assert compare([_out(np.array([0.1], dtype=np.float32), [1])], [_out([0.1], [1])], 0.0)
    assert not compare(ours, [_out([0.5001, 200.0], [2, 1])], 0.0)
    assert compare(ours, [_out([0.5001, 200.0], [2, 1])], 1e-3)
    assert compare(ours, [_out([0.5, 200.1], [2, 1])], 1e-3)  # relative above 1
    assert not compare(ours, [_out([0.5, 201.0], [2, 1])], 1e-3)


def test_labels_shapes_and_missing_outputs_must_match_exactly() -> None:
    labels = [{"name": "label", "datatype": "INT64", "shape": [2], "data": np.array([1, 0])}]
    assert compare(labels, [{"name": "label", "shape": [2], "data": [1, 0]}], 0.5)
    assert not compare(labels, [{"name": "label", "shape": [2], "data": [1, 1]}], 0.5)
    assert not compare(labels, [{"name": "label", "shape": [1, 2], "data": [1, 0]}], 0.5)
    assert not compare(labels, [{"name": "other", "shape": [2], "data": [1, 0]}], 0.5)
    assert not compare([_out([float("nan")], [1])], [_out([0.0], [1])], 1.0)
    words = [{"name": "w", "datatype": "BYTES", "shape": [1], "data": ["cat"]}]
    assert compare(words, [{"name": "w", "shape": [1], "data": ["cat"]}], 0.0)
    assert not compare(words, [{"name": "w", "shape": [1], "data": ["dog"]}], 0.0)
    assert compare([_out([float("nan")], [1])], [_out([float("nan")], [1])], 0.0)


def _model_settings(
    make_settings: SettingsFactory, tmp_path: Path, seed: int, version: str, **extra: object
) -> object:
    path, digest = write_model(linear_model(4, seed=seed), tmp_path / f"model-{version}.onnx")
    return make_settings(
        model_version=version, model_uri=path.as_uri(), model_sha256=digest, **extra
    )


def _send(url: str, n: int) -> None:
    rng = np.random.default_rng(5)
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(n):
            rows = rng.normal(size=(3, 4)).astype(np.float32)
            body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 4],
                                "data": rows.ravel().tolist()}]}  # fmt: skip
            assert client.post("/v2/models/demo/infer", json=body).status_code == 200


def _counts(
    url: str, shadow_version: str, deadline_s: float = 10.0, want: int = 0
) -> dict[str, float]:
    found: dict[str, float] = {}
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        text = httpx.get(f"{url}/metrics", timeout=5).text
        found = {
            result: metric_value(
                text, COMPARISONS, model="demo", version="3",
                shadow_version=shadow_version, result=result,
            ) or 0.0
            for result in ("agree", "disagree", "error")
        }  # fmt: skip
        if sum(found.values()) >= want:
            break
        time.sleep(0.1)
    return found


@pytest.mark.parametrize(("seed", "expected"), [(0, "agree"), (1, "disagree")])
def test_a_stable_runtime_counts_how_the_candidates_answers_compare_with_its_own(
    make_settings: SettingsFactory,
    runtime_process: Callable[..., RuntimeProcess],
    tmp_path: Path,
    seed: int,
    expected: str,
) -> None:
    candidate = runtime_process(_model_settings(make_settings, tmp_path, seed, "4"))
    candidate.wait_ready()
    stable = runtime_process(
        _model_settings(
            make_settings, tmp_path, 0, "3", shadow_url=candidate.url, shadow_percent=100
        )
    )
    stable.wait_ready()
    _send(stable.url, 30)
    counts = _counts(stable.url, "4", want=30)
    assert counts[expected] == 30, (counts, stable.logs())
    assert sum(counts.values()) == 30
    served = metric_value(
        httpx.get(f"{candidate.url}/metrics").text,
        "modelplane_runtime_requests_total",
        model="demo",
        version="4",
        code="200",
    )
    assert served == 30  # the copies reached the candidate, under its own version


def test_copies_to_an_unreachable_shadow_are_skipped_and_answers_are_unaffected(
    make_settings: SettingsFactory,
    runtime_process: Callable[..., RuntimeProcess],
    tmp_path: Path,
) -> None:
    from tests.runtime.conftest import free_port

    nowhere = f"http://127.0.0.1:{free_port()}"
    stable = runtime_process(
        _model_settings(make_settings, tmp_path, 0, "3", shadow_url=nowhere, shadow_percent=100)
    )
    stable.wait_ready()
    _send(stable.url, 20)  # every answer is still 200
    text = httpx.get(f"{stable.url}/metrics").text
    skipped = metric_value(
        text, "modelplane_runtime_shadow_skipped_total", model="demo", version="3"
    )
    assert skipped == 20
    assert f"{COMPARISONS}{{" not in text  # nothing compared
