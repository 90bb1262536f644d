"""The drift statistics as plain numpy functions, written to agree with scipy to the last digit.

Each function works on what a reference profile and a window accumulator hold (sorted samples,
bin counts, category counts), never on raw tables, so that one window evaluation costs a few
array operations per feature. Where scipy computes a value (the KS p-value's method choice,
Yates' correction in chi-squared, the base of Jensen-Shannon), the same formula is used here,
and the agreement tests in `tests/operator/drift` hold these functions to it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KS_EXACT_MAX_N = 10_000
"""scipy's `ks_2samp(method="auto")` uses the exact distribution up to this sample size."""

PSI_EPSILON = 1e-4
"""Floor for an empty bin's proportion in PSI, so that an empty bin adds a large but finite
term instead of an infinite one (the convention Evidently and most PSI tables use)."""


def _exact_ks_pvalue(n1: int, n2: int, d: float) -> tuple[bool, float, float]:
    """The exact two-sided KS p-value, from scipy's own lattice-path routine."""
    # scipy keeps its exact two-sample routine private; calling it (rather than reimplementing
    # the lattice-path count) is what makes the exact-regime p-value identical to ks_2samp.
    from scipy.stats._stats_py import _attempt_exact_2kssamp

    success, d_rounded, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
    return bool(success), float(d_rounded), float(prob)


def ks_pvalues(d: FloatArray, n1: IntArray, n2: IntArray) -> tuple[FloatArray, FloatArray]:
    """Two-sided KS p-values for statistics `d`, choosing exact or asymptotic as scipy does.

    Returns the statistics (rounded to the lattice in the exact regime, as scipy reports them)
    and the p-values.
    """
    d = np.asarray(d, dtype=np.float64).copy()
    p = np.full(d.shape, np.nan)
    exact = np.maximum(n1, n2) <= KS_EXACT_MAX_N
    for i in np.flatnonzero(exact):
        success, d[i], prob = _exact_ks_pvalue(int(n1[i]), int(n2[i]), float(d[i]))
        if success:
            p[i] = prob
        else:
            exact[i] = False
    asymp = ~exact
    if asymp.any():
        from scipy import stats  # scipy.stats costs ~1 s to import; rarely needed

        m = np.maximum(n1[asymp], n2[asymp]).astype(np.float64)
        n = np.minimum(n1[asymp], n2[asymp]).astype(np.float64)
        en = m * n / (m + n)
        p[asymp] = stats.kstwo.sf(d[asymp], np.round(en))
    return d, np.clip(p, 0.0, 1.0)


def ks_and_wasserstein(ref_sorted: FloatArray, win_sorted: FloatArray) -> tuple[float, float]:
    """KS statistic D and the 1-Wasserstein distance between two sorted samples, in one merge.

    Both come from the two right-continuous empirical CDFs evaluated on the pooled sample,
    exactly as `scipy.stats.ks_2samp` and `scipy.stats.wasserstein_distance` evaluate them (same
    integer counts, same divisions). The merge needs one binary search of the reference into
    the window and O(n) work, instead of sorting the pooled sample and searching it twice.
    """
    n1, n2 = ref_sorted.size, win_sorted.size
    total = n1 + n2
    ref_at = np.searchsorted(win_sorted, ref_sorted, side="right") + np.arange(n1)
    win_at = np.searchsorted(ref_sorted, win_sorted, side="left") + np.arange(n2)
    is_ref = np.zeros(total, dtype=bool)
    is_ref[ref_at] = True
    pooled = np.empty(total)
    pooled[ref_at] = ref_sorted
    pooled[win_at] = win_sorted
    ref_count = np.cumsum(is_ref)
    step = pooled[1:] != pooled[:-1]
    if step.all():  # no ties: each position is its own run
        ref_cdf = ref_count / n1
        win_cdf = (np.arange(1, total + 1) - ref_count) / n2
    else:  # right-continuous CDFs: a run of equal values takes the counts at its last element
        ends = np.flatnonzero(np.append(step, True))
        run_end = np.repeat(ends, np.diff(ends, prepend=-1))
        ref_cdf = ref_count[run_end] / n1
        win_cdf = (run_end + 1 - ref_count[run_end]) / n2
    gap = np.abs(ref_cdf - win_cdf)
    return float(gap.max()), float(np.dot(gap[:-1], np.diff(pooled)))


def psi(ref_counts: FloatArray, win_counts: FloatArray) -> FloatArray:
    """Population stability index per row of two (features × bins) count matrices.

    Proportions below `PSI_EPSILON` are raised to it. Padding bins that are empty on both sides
    contribute exactly zero, so features with fewer bins can share one matrix.
    """
    ref_p = _proportions(ref_counts)
    win_p = _proportions(win_counts)
    ref_p = np.maximum(ref_p, PSI_EPSILON)
    win_p = np.maximum(win_p, PSI_EPSILON)
    result: FloatArray = np.sum((win_p - ref_p) * np.log(win_p / ref_p), axis=-1)
    return result


def jensen_shannon(ref_counts: FloatArray, win_counts: FloatArray) -> FloatArray:
    """Jensen-Shannon distance (base 2, in [0, 1]) per row of two count matrices."""
    p = _proportions(ref_counts)
    q = _proportions(win_counts)
    m = (p + q) / 2.0
    divergence = np.sum(special.rel_entr(p, m) + special.rel_entr(q, m), axis=-1) / 2.0
    result: FloatArray = np.sqrt(np.maximum(divergence, 0.0) / np.log(2.0))
    return result


def chi2_homogeneity(ref_counts: FloatArray, win_counts: FloatArray) -> tuple[float, float]:
    """Chi-squared test that two count vectors come from one distribution.

    The 2 × k contingency test of `scipy.stats.chi2_contingency` (with its default Yates
    correction when there is one degree of freedom). Categories empty on both sides are dropped;
    a category seen only in the window (unseen in the reference) stays and counts as evidence.
    """
    observed = np.vstack((ref_counts, win_counts)).astype(np.float64)
    observed = observed[:, observed.sum(axis=0) > 0]
    if observed.shape[1] < 2 or observed[0].sum() == 0 or observed[1].sum() == 0:
        return 0.0, 1.0
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    dof = observed.shape[1] - 1
    if dof == 1:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(special.chdtrc(dof, statistic))


def adjust_pvalues(p: FloatArray, method: str) -> FloatArray:
    """Multiple-testing correction: `none`, `bonferroni` or `bh-fdr` (Benjamini-Hochberg).

    Returns adjusted p-values, to be compared with each test's alpha.
    """
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        result: FloatArray = np.minimum(p * m, 1.0)
        return result
    if method == "bh-fdr":
        order = np.argsort(p, kind="stable")
        ranked = p[order] * m / np.arange(1, m + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(ranked, 1.0)
        return adjusted
    raise ValueError(f"unknown multiple-testing correction {method!r}")


def _proportions(counts: Any) -> FloatArray:
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(axis=-1, keepdims=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result: FloatArray = np.where(totals > 0, counts / np.where(totals > 0, totals, 1), 0.0)
    return result
