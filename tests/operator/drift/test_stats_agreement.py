"""The drift statistics agree with scipy (and a plain PSI) to within 1e-9."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from modelplane_operator.drift.config import DriftConfig, FeatureSpec
from modelplane_operator.drift.stats import (
    adjust_pvalues,
    chi2_homogeneity,
    jensen_shannon,
    ks_and_wasserstein,
    ks_pvalues,
    psi,
)
from tests.operator.drift.helpers import feature_table, run

# Sizes spanning scipy's exact regime (max(n1, n2) <= 10000, equal and unequal sizes) and the
# asymptotic one.
SIZES = [
    (5, 8),
    (40, 40),
    (300, 1000),
    (2500, 7000),
    (10_000, 10_000),
    (12_000, 800),
    (30_000, 50_000),
]


def _samples(n1: int, n2: int, seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, n1)
    b = rng.normal(0.15, 1.2, n2)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return a, b


@pytest.mark.parametrize(("n1", "n2"), SIZES)
@pytest.mark.parametrize("ties", [False, True])
def test_ks_statistic_and_pvalue_equal_scipy_ks_2samp(n1: int, n2: int, ties: bool) -> None:
    a, b = _samples(n1, n2, seed=n1 + n2, ties=ties)
    expected = stats.ks_2samp(a, b)
    d, _ = ks_and_wasserstein(np.sort(a), np.sort(b))
    d_out, p_out = ks_pvalues(np.array([d]), np.array([n1]), np.array([n2]))
    assert d_out[0] == pytest.approx(expected.statistic, abs=1e-9)
    assert p_out[0] == pytest.approx(expected.pvalue, abs=1e-9, rel=1e-9)


def test_ks_pvalues_of_many_features_are_computed_in_one_call() -> None:
    cases = [_samples(n1, n2, seed=i, ties=i % 2 == 0) for i, (n1, n2) in enumerate(SIZES)]
    ds = np.array([ks_and_wasserstein(np.sort(a), np.sort(b))[0] for a, b in cases])
    n1 = np.array([a.size for a, _ in cases])
    n2 = np.array([b.size for _, b in cases])
    _, p = ks_pvalues(ds, n1, n2)
    expected = [stats.ks_2samp(a, b).pvalue for a, b in cases]
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("n1", "n2"), SIZES)
@pytest.mark.parametrize("ties", [False, True])
def test_wasserstein_equals_scipy_wasserstein_distance(n1: int, n2: int, ties: bool) -> None:
    a, b = _samples(n1, n2, seed=7 * n1 + n2, ties=ties)
    _, w = ks_and_wasserstein(np.sort(a), np.sort(b))
    assert w == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_jensen_shannon_equals_scipy_base_2_for_every_row(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 50, size=(6, 12)).astype(float)
    win = rng.integers(0, 50, size=(6, 12)).astype(float)
    ref[0, :3] = 0  # empty bins on one side
    got = jensen_shannon(ref, win)
    expected = [jensenshannon(r, w, base=2) for r, w in zip(ref, win, strict=True)]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 7])
@pytest.mark.parametrize("seed", range(4))
def test_chi2_equals_scipy_chi2_contingency(k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.integers(1, 300, size=k).astype(float)
    win = rng.integers(1, 300, size=k).astype(float)
    statistic, p = chi2_homogeneity(ref, win)
    expected = stats.chi2_contingency(np.vstack((ref, win)))
    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_chi2_counts_an_unseen_category_and_ignores_categories_absent_on_both_sides() -> None:
    ref = np.array([50.0, 30.0, 0.0, 0.0])
    win = np.array([40.0, 30.0, 0.0, 12.0])  # last: unseen in the reference
    statistic, p = chi2_homogeneity(ref, win)
    expected = stats.chi2_contingency(np.array([[50, 30, 0], [40, 30, 12]]))
    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def _plain_psi(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """PSI the long way: quantile edges of the reference, loops, empty bins floored at 1e-4."""
    edges = sorted(set(np.quantile(reference, [i / bins for i in range(1, bins)]).tolist()))
    total = 0.0
    bounds = [-np.inf, *edges, np.inf]
    for lo, hi in itertools.pairwise(bounds):
        r = sum(1 for x in reference if lo < x <= hi) / len(reference)
        c = sum(1 for x in current if lo < x <= hi) / len(current)
        r, c = max(r, 1e-4), max(c, 1e-4)
        total += (c - r) * np.log(c / r)
    return total


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_psi_of_the_engine_matches_a_plain_implementation(shift: float) -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(0, 1, 2000)
    current = rng.normal(shift, 1, 1500)
    config = DriftConfig(features=[FeatureSpec(name="x", test="psi")], min_samples=10)
    result = run(
        feature_table({"feature.x": reference}), feature_table({"feature.x": current}), config
    )
    assert result.features[0].statistic == pytest.approx(
        _plain_psi(reference, current, 10), rel=1e-9, abs=1e-12
    )


def test_psi_stays_finite_when_the_window_leaves_bins_empty() -> None:
    ref = np.array([[100.0, 100.0, 100.0]])
    win = np.array([[300.0, 0.0, 0.0]])
    value = psi(ref, win)[0]
    assert np.isfinite(value)
    assert value > 1.0


def test_engine_ks_agrees_with_scipy_end_to_end_including_the_exact_regime() -> None:
    rng = np.random.default_rng(11)
    reference = np.round(rng.normal(0, 1, 600), 2)
    current = np.round(rng.normal(0.2, 1, 900), 2)
    config = DriftConfig(features=[FeatureSpec(name="x")], min_samples=10)  # small ref → ks
    result = run(
        feature_table({"feature.x": reference}), feature_table({"feature.x": current}), config
    )
    expected = stats.ks_2samp(reference, current)
    assert result.features[0].test == "ks"
    assert result.features[0].statistic == pytest.approx(expected.statistic, abs=1e-9)
    assert result.features[0].p_value == pytest.approx(expected.pvalue, abs=1e-9, rel=1e-9)


def test_engine_wasserstein_is_scipys_distance_in_reference_standard_deviations() -> None:
    rng = np.random.default_rng(12)
    reference = rng.gamma(2.0, 3.0, 4000)
    current = rng.gamma(2.2, 3.0, 3000)
    config = DriftConfig(features=[FeatureSpec(name="x")], min_samples=10)  # large → wasserstein
    result = run(
        feature_table({"feature.x": reference}), feature_table({"feature.x": current}), config
    )
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert result.features[0].test == "wasserstein"
    assert result.features[0].statistic == pytest.approx(expected, rel=1e-9)


def test_bh_and_bonferroni_adjustments_equal_the_textbook_values() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001])
    np.testing.assert_allclose(adjust_pvalues(p, "bh-fdr"), stats.false_discovery_control(p))
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), np.minimum(p * 5, 1))
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)
    with pytest.raises(ValueError, match="unknown multiple-testing correction"):
        adjust_pvalues(p, "holm")
