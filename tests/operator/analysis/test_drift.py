"""Prediction drift of candidate vs stable from payload logs, through the drift engine."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelplane_crds.model_deployment import Analysis
from modelplane_operator.analysis.checks import judge
from modelplane_operator.analysis.drift import PredictionDrift
from modelplane_operator.analysis.sources import Sample, ShadowCounts
from modelplane_operator.analysis.targets import Target
from tests.operator.factories import T0

STABLE = Target("mp-acme", "fraud", "v1", "fraud", "1", "fraud-v1")
CANDIDATE = Target("mp-acme", "fraud", "v2", "fraud", "2", "fraud-v2")


def _log(root: Path, target: Target, predictions: np.ndarray) -> None:
    """Payload-log rows as the runtime writes them: `ts` and `output.<tensor>.<index>`."""
    at = T0 - timedelta(seconds=30)
    directory = (
        root
        / target.namespace
        / target.deployment
        / target.version
        / f"date={at:%Y-%m-%d}"
        / f"hour={at:%H}"
    )
    directory.mkdir(parents=True, exist_ok=True)
    stamp = int(at.timestamp() * 1_000_000)
    table = pa.table(
        {
            "ts": pa.array(np.full(predictions.size, stamp), type=pa.timestamp("us", tz="UTC")),
            "output.y.0": pa.array(predictions.astype(np.float32)),
        }
    )
    pq.write_table(table, directory / "part-0.parquet")


class _Requests:
    def sample(self, target: Target, window_s: float) -> Sample:
        return Sample(2000, 0, 0, 0.001)

    def shadow(self, stable: Target, candidate: Target, window_s: float) -> ShadowCounts:
        raise AssertionError("no shadow check is configured")

    def shadow_total(self, stable: Target, candidate: Target) -> ShadowCounts:
        raise AssertionError("no shadow check is configured")


def _judge(root: Path) -> tuple[str, list[float]]:
    analysis = Analysis.model_validate(
        {"minSamples": 100, "checks": {"predictionDrift": {"test": "psi", "max": 0.2}}}
    )
    drift = PredictionDrift()
    verdict = judge(
        analysis,
        _Requests(),
        CANDIDATE,
        STABLE,
        60,
        T0,
        drift=lambda c, s, w, t: drift.measure(str(root), c, s, w, t, T0),
    )
    return verdict.outcome, [m.value for m in verdict.measurements]


def test_a_candidate_predicting_like_stable_passes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    _log(tmp_path, STABLE, rng.normal(0, 1, 3000))
    _log(tmp_path, CANDIDATE, rng.normal(0, 1, 3000))
    outcome, values = _judge(tmp_path)
    assert outcome == "passed"
    assert values[0] < 0.2


def test_a_candidate_whose_predictions_moved_fails(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    _log(tmp_path, STABLE, rng.normal(0, 1, 3000))
    _log(tmp_path, CANDIDATE, rng.normal(1.5, 1, 3000))
    outcome, values = _judge(tmp_path)
    assert outcome == "failed"
    assert values[0] > 0.2


@pytest.mark.parametrize("rows", [0, 20])
def test_without_enough_candidate_logs_drift_is_inconclusive(tmp_path: Path, rows: int) -> None:
    rng = np.random.default_rng(3)
    _log(tmp_path, STABLE, rng.normal(0, 1, 3000))
    if rows:
        _log(tmp_path, CANDIDATE, rng.normal(5, 1, rows))
    outcome, _ = _judge(tmp_path)
    assert outcome == "inconclusive"
