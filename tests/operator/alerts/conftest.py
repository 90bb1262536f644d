"""The alert tests' monitor, evaluations (drift and quality) and HTTP client (the real
receivers, a webhook endpoint and Debian's Alertmanager, are in tests/operator/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from modelplane_crds.drift_results import DatasetDrift, DriftEvaluation, FeatureDriftResult
from modelplane_crds.quality import QualityEvaluation, QualityMetricResult
from modelplane_operator.alerts import MonitorRef

MONITOR = MonitorRef(
    namespace="mp-acme",
    name="fraud-inputs",
    uid="0d1f5c2e-8a55-4c0b-9a57-3f1e2a6b7c90",
    deployment="fraud-detector",
    model_version="fraud-detector-v3",
)


def make_evaluation(
    *, drifted: bool = True, window_end: datetime | None = None, insufficient: bool = False
) -> DriftEvaluation:
    """A one-hour evaluation ending at `window_end` (the current hour by default) in which
    `amount` drifted when `drifted`, and `country` did not."""
    end = window_end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if insufficient:
        return DriftEvaluation(
            window_start=end - timedelta(hours=1), window_end=end, samples=3, insufficient_data=True
        )
    features = [
        FeatureDriftResult(
            feature="amount",
            test="ks",
            statistic=0.41 if drifted else 0.02,
            p_value=1e-9 if drifted else 0.8,
            threshold=0.05,
            drifted=drifted,
            samples=1200,
        ),
        FeatureDriftResult(
            feature="country",
            test="jsd",
            statistic=0.03,
            threshold=0.1,
            drifted=False,
            samples=1200,
        ),
    ]
    return DriftEvaluation(
        window_start=end - timedelta(hours=1),
        window_end=end,
        samples=1200,
        features=features,
        dataset=DatasetDrift(share=0.5 if drifted else 0.0, threshold=0.5, drifted=drifted),
    )


def make_quality(
    *, mae: float = 0.51, window_end: datetime | None = None, insufficient: bool = False
) -> QualityEvaluation:
    """A one-hour scored window ending at `window_end` (the current hour by default) of a
    regression whose MAE is `mae` against `max: 0.2` (degraded above it) and whose RMSE has no
    threshold; with `insufficient`, too few labels to decide."""
    end = window_end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    metrics = [
        QualityMetricResult(metric="mae", value=mae, max=0.2, passed=mae <= 0.2, rows=812),
        QualityMetricResult(metric="rmse", value=mae * 1.3, rows=812),
    ]
    return QualityEvaluation(
        window_start=end - timedelta(hours=1),
        window_end=end,
        labels_until=end + timedelta(minutes=5),
        model_version=MONITOR.model_version,
        predictions=5120,
        labelled_rows=12 if insufficient else 812,
        ambiguous_rows=0,
        unmatched_feedback=37,
        metrics=[] if insufficient else metrics,
        degraded=not insufficient and mae > 0.2,
        insufficient_data=insufficient,
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c
