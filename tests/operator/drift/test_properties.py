"""Statistical properties: few false alarms, real shifts detected, row order irrelevant."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelplane_operator.drift.config import DriftConfig, FeatureSpec
from tests.operator.drift.helpers import feature_table, run

SEEDS = 200
ALPHA = 0.05
# With 200 independent seeds the false-positive count is Binomial(200, 0.05): mean 10,
# sd ≈ 3.1. 0.12 (24 alarms) is more than four sd above the mean.
FP_BOUND = 0.12

P_VALUE_CONFIG = DriftConfig(
    features=[
        FeatureSpec(name="x", kind="numerical"),
        FeatureSpec(name="c", kind="categorical"),
    ],
    min_samples=20,
    alpha=ALPHA,
)


def _draw(
    rng: np.random.Generator, n: int, loc: float, scale: float, mix: list[float]
) -> dict[str, Any]:
    return {
        "feature.x": rng.normal(loc, scale, n),
        "feature.c": rng.choice(np.array(["a", "b", "c", "d"]), n, p=mix),
    }


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    loc=st.floats(-100, 100),
    scale=st.floats(0.01, 50),
    mix=st.sampled_from([[0.25] * 4, [0.7, 0.1, 0.1, 0.1], [0.4, 0.3, 0.2, 0.1]]),
)
def test_same_distribution_false_alarm_rate_stays_near_alpha(
    loc: float, scale: float, mix: list[float]
) -> None:
    alarms = {"x": 0, "c": 0}
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        reference = feature_table(_draw(rng, 150, loc, scale, mix))
        window = feature_table(_draw(rng, 120, loc, scale, mix))
        for result in run(reference, window, P_VALUE_CONFIG).features:
            alarms[result.feature] += result.drifted
    assert alarms["x"] / SEEDS <= FP_BOUND
    assert alarms["c"] / SEEDS <= FP_BOUND


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), shift=st.floats(1.0, 3.0), sign=st.sampled_from([-1, 1]))
def test_a_shifted_mean_is_detected_by_ks_and_wasserstein(
    seed: int, shift: float, sign: int
) -> None:
    rng = np.random.default_rng(seed)
    mix = [0.25] * 4
    reference = feature_table(_draw(rng, 400, 0.0, 1.0, mix))
    window = feature_table(_draw(rng, 300, sign * shift, 1.0, mix))
    small = run(reference, window, P_VALUE_CONFIG)
    large = run(reference, window, P_VALUE_CONFIG.model_copy(update={"small_reference": 10}))
    assert [r.test for r in small.features if r.feature == "x"] == ["ks"]
    assert [r.test for r in large.features if r.feature == "x"] == ["wasserstein"]
    assert all(r.drifted for r in [*small.features, *large.features] if r.feature == "x")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_changed_category_mix_is_detected_by_chi2_and_jsd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = feature_table(_draw(rng, 400, 0.0, 1.0, [0.25] * 4))
    window = feature_table(_draw(rng, 300, 0.0, 1.0, [0.7, 0.1, 0.1, 0.1]))
    small = run(reference, window, P_VALUE_CONFIG)
    large = run(reference, window, P_VALUE_CONFIG.model_copy(update={"small_reference": 10}))
    categorical = [r for r in [*small.features, *large.features] if r.feature == "c"]
    assert [r.test for r in categorical] == ["chi2", "jsd"]
    assert all(r.drifted for r in categorical)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(0, 1),
    chunk=st.integers(7, 500),
    test=st.sampled_from(["ks", "psi", "jsd", "wasserstein"]),
)
def test_results_do_not_depend_on_row_order_or_batching(
    seed: int, shift: float, chunk: int, test: str
) -> None:
    rng = np.random.default_rng(seed)
    config = DriftConfig(
        features=[FeatureSpec(name="x", test=test), FeatureSpec(name="c", kind="categorical")],
        min_samples=20,
    )
    reference = feature_table(_draw(rng, 500, 0.0, 1.0, [0.25] * 4))
    window = feature_table(_draw(rng, 400, shift, 1.0, [0.4, 0.3, 0.2, 0.1]))
    permuted_ref = reference.take(rng.permutation(reference.num_rows))
    permuted_win = window.take(rng.permutation(window.num_rows))
    a = run(reference, window, config)
    b = run(permuted_ref, permuted_win, config, chunk=chunk)
    for x, y in zip(a.features, b.features, strict=True):
        assert (x.feature, x.test, x.drifted, x.samples) == (
            y.feature,
            y.test,
            y.drifted,
            y.samples,
        )
        assert abs(x.statistic - y.statistic) <= 1e-12 * max(1.0, abs(x.statistic))
        assert (x.p_value is None) == (y.p_value is None)
        if x.p_value is not None and y.p_value is not None:
            assert abs(x.p_value - y.p_value) <= 1e-12
