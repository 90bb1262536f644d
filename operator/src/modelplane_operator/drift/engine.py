"""Evaluate one window of traffic against a reference profile.

A `WindowAccumulator` folds record batches into exact bin and category counts and a bounded row
sample; `evaluate` turns those summaries into per-feature results, applies the multiple-testing
correction and the dataset-drift share, and returns the shared `DriftEvaluation`. Work per
evaluation is a handful of numpy operations per feature, independent of the window's row count
beyond the single streaming pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from modelplane_crds.drift_results import (
    P_VALUE_TESTS,
    DatasetDrift,
    DriftEvaluation,
    DriftTestName,
    FeatureDriftResult,
)
from modelplane_operator.drift.accumulate import (
    BottomKSampler,
    bin_counts,
    category_counts,
    numeric_column,
)
from modelplane_operator.drift.config import DriftConfig, FeatureSpec, column_of
from modelplane_operator.drift.profile import ReferenceProfile
from modelplane_operator.drift.stats import (
    FloatArray,
    adjust_pvalues,
    chi2_homogeneity,
    jensen_shannon,
    ks_and_wasserstein,
    ks_pvalues,
    psi,
)


@dataclass(frozen=True)
class _Planned:
    spec: FeatureSpec
    column: str
    test: DriftTestName
    output: bool


def plan_tests(config: DriftConfig, profile: ReferenceProfile) -> list[_Planned]:
    """Choose the test of every feature and output: the override, else by kind and size."""
    planned = []
    for output, specs in ((False, config.features), (True, config.outputs)):
        for spec in specs:
            column = column_of(spec, output=output)
            if spec.kind == "numerical":
                if column not in profile.numerical:
                    raise ValueError(f"reference profile has no numerical column {column!r}")
                size = profile.numerical[column].count
                auto = "ks" if size <= config.small_reference else "wasserstein"
            else:
                if column not in profile.categorical:
                    raise ValueError(f"reference profile has no categorical column {column!r}")
                size = profile.categorical[column].count
                auto = "chi2" if size <= config.small_reference else "jsd"
            test: DriftTestName = spec.test or auto  # type: ignore[assignment]
            planned.append(_Planned(spec, column, test, output))
    return planned


def profile_columns(config: DriftConfig) -> tuple[list[str], list[str]]:
    """The numerical and categorical columns a profile for this config must cover."""
    numerical: list[str] = []
    categorical: list[str] = []
    for output, specs in ((False, config.features), (True, config.outputs)):
        for spec in specs:
            target = numerical if spec.kind == "numerical" else categorical
            column = column_of(spec, output=output)
            if column not in target:
                target.append(column)
    return numerical, categorical


class WindowAccumulator:
    """Streaming summary of a window: exact counts plus a bounded sample for KS/Wasserstein."""

    def __init__(self, config: DriftConfig, profile: ReferenceProfile) -> None:
        self.config = config
        self.profile = profile
        self.plan = plan_tests(config, profile)
        self.numerical = sorted({p.column for p in self.plan if p.spec.kind == "numerical"})
        self.categorical = sorted({p.column for p in self.plan if p.spec.kind == "categorical"})
        sampled = {p.column for p in self.plan if p.test in ("ks", "wasserstein")}
        self.sampled = [c for c in self.numerical if c in sampled]
        self.rows = 0
        binned = {p.column for p in self.plan if p.test in ("psi", "jsd")}
        self.rows = 0
        self.bins = {
            c: np.zeros(profile.numerical[c].edges.size + 1) for c in self.numerical if c in binned
        }
        self.categories: dict[str, Counter[str]] = {c: Counter() for c in self.categorical}
        self.sampler = BottomKSampler(
            config.window_sample_size, len(self.sampled), config.profile.seed
        )

    @property
    def columns(self) -> list[str]:
        """The payload-log columns this window needs."""
        return self.numerical + self.categorical

    def add(self, batch: pa.RecordBatch) -> None:
        """Fold one record batch into the summary."""
        self.rows += batch.num_rows
        for column in self.bins:
            edges = self.profile.numerical[column].edges
            self.bins[column] += bin_counts(numeric_column(batch, column), edges)
        if self.sampled:
            entering = self.sampler.select(batch.num_rows)
            if entering.size:
                block = np.empty((entering.size, len(self.sampled)))
                for j, column in enumerate(self.sampled):
                    block[:, j] = numeric_column(batch, column)[entering]
                self.sampler.store(block)
        for column in self.categorical:
            self.categories[column].update(category_counts(batch, column))

    def add_all(self, batches: Iterable[pa.RecordBatch]) -> WindowAccumulator:
        """Fold a stream of batches; returns self for chaining."""
        for batch in batches:
            self.add(batch)
        return self


def evaluate(
    window: WindowAccumulator, window_start: datetime, window_end: datetime
) -> DriftEvaluation:
    """Per-feature, prediction and dataset drift of an accumulated window."""
    config = window.config
    if window.rows < config.min_samples:
        return DriftEvaluation(
            window_start=window_start,
            window_end=window_end,
            samples=window.rows,
            insufficient_data=True,
        )
    inputs = _results(window, [p for p in window.plan if not p.output])
    outputs = _results(window, [p for p in window.plan if p.output])
    dataset = None
    if inputs:
        share = sum(r.drifted for r in inputs) / len(inputs)
        dataset = DatasetDrift(
            share=share,
            threshold=config.dataset_drift_share,
            drifted=share >= config.dataset_drift_share,
        )
    return DriftEvaluation(
        window_start=window_start,
        window_end=window_end,
        samples=window.rows,
        features=inputs,
        dataset=dataset,
        prediction_drift=outputs,
        insufficient_data=False,
    )


@dataclass
class _Stats:
    """Statistics of one group of planned tests, by index into the plan."""

    stat: dict[int, float] = field(default_factory=dict)
    pvalue: dict[int, float] = field(default_factory=dict)
    used: dict[int, int] = field(default_factory=dict)


def _results(window: WindowAccumulator, plan: list[_Planned]) -> list[FeatureDriftResult]:
    """Run the planned tests of one group (inputs or outputs) and decide each."""
    out = _Stats()
    _binned_tests(window, plan, out)
    _sampled_tests(window, plan, out)
    _categorical_tests(window, plan, out)
    return _decide(window.config, plan, out)


def _binned_tests(window: WindowAccumulator, plan: list[_Planned], out: _Stats) -> None:
    """PSI and Jensen-Shannon on numerical bins, all features in one matrix operation."""
    binned = [
        i for i, p in enumerate(plan) if p.spec.kind == "numerical" and p.test in ("psi", "jsd")
    ]
    if not binned:
        return
    ref_m, win_m = _padded(
        [window.profile.numerical[plan[i].column].bin_counts for i in binned],
        [window.bins[plan[i].column] for i in binned],
    )
    psi_values = psi(ref_m, win_m)
    jsd_values = jensen_shannon(ref_m, win_m)
    for k, i in enumerate(binned):
        out.used[i] = int(window.bins[plan[i].column].sum())
        out.stat[i] = float(psi_values[k] if plan[i].test == "psi" else jsd_values[k])


def _sampled_tests(window: WindowAccumulator, plan: list[_Planned], out: _Stats) -> None:
    """KS and Wasserstein on the sorted samples: one merge per feature, p-values batched."""
    ordered = np.sort(window.sampler.sample(), axis=0)  # NaN (missing) sorts last
    present = (~np.isnan(ordered)).sum(axis=0)
    ks_rows: list[tuple[int, float, int, int]] = []
    for i, item in enumerate(plan):
        if item.spec.kind != "numerical" or item.test not in ("ks", "wasserstein"):
            continue
        ref = window.profile.numerical[item.column]
        j = window.sampled.index(item.column)
        win_sorted = ordered[: present[j], j]
        out.used[i] = win_sorted.size
        if win_sorted.size == 0 or ref.sample.size == 0:
            continue
        d, w = ks_and_wasserstein(ref.sample, win_sorted)
        if item.test == "ks":
            ks_rows.append((i, d, ref.sample.size, win_sorted.size))
        else:
            out.stat[i] = w / ref.std if ref.std > 0 else w
    if ks_rows:
        d_values, p_values = ks_pvalues(
            np.array([r[1] for r in ks_rows]),
            np.array([r[2] for r in ks_rows], dtype=np.int64),
            np.array([r[3] for r in ks_rows], dtype=np.int64),
        )
        for k, row in enumerate(ks_rows):
            out.stat[row[0]], out.pvalue[row[0]] = float(d_values[k]), float(p_values[k])


def _categorical_tests(window: WindowAccumulator, plan: list[_Planned], out: _Stats) -> None:
    """Chi-squared, Jensen-Shannon or PSI on category counts (unseen categories included)."""
    for i, item in enumerate(plan):
        if item.spec.kind != "categorical":
            continue
        ref = window.profile.categorical[item.column]
        ref_counts, win_counts = _category_vectors(
            ref.categories, ref.counts, window.categories[item.column]
        )
        out.used[i] = int(win_counts.sum())
        if item.test == "chi2":
            out.stat[i], out.pvalue[i] = chi2_homogeneity(ref_counts, win_counts)
        elif item.test == "jsd":
            out.stat[i] = float(jensen_shannon(ref_counts, win_counts))
        else:
            out.stat[i] = float(psi(ref_counts, win_counts))


def _decide(config: DriftConfig, plan: list[_Planned], out: _Stats) -> list[FeatureDriftResult]:
    """Correct the p-values across the group and compare every statistic with its threshold."""
    tested = [i for i in range(len(plan)) if i in out.stat and out.used[i] >= config.min_samples]
    p_tested = [i for i in tested if plan[i].test in P_VALUE_TESTS]
    adjusted = adjust_pvalues(np.array([out.pvalue[i] for i in p_tested]), config.correction)
    adjusted_of = dict(zip(p_tested, adjusted.tolist(), strict=True))
    results = []
    for i in tested:
        item = plan[i]
        p: float | None = None
        if item.test in P_VALUE_TESTS:
            threshold = item.spec.alpha if item.spec.alpha is not None else config.alpha
            p = adjusted_of[i]
            drifted = p < threshold
        else:
            threshold = (
                item.spec.threshold
                if item.spec.threshold is not None
                else config.threshold_for(item.test)
            )
            drifted = out.stat[i] >= threshold
        results.append(
            FeatureDriftResult(
                feature=item.spec.name,
                test=item.test,
                statistic=max(out.stat[i], 0.0),
                p_value=p,
                threshold=threshold,
                drifted=bool(drifted),
                samples=out.used[i],
            )
        )
    return results


def _category_vectors(
    categories: list[str], counts: FloatArray, window: Counter[str]
) -> tuple[FloatArray, FloatArray]:
    """Reference and window counts over the union of categories (unseen ones appended)."""
    unseen = sorted(set(window) - set(categories))
    ref = np.concatenate((counts, np.zeros(len(unseen))))
    win = np.array([window.get(c, 0) for c in [*categories, *unseen]], dtype=np.float64)
    return ref, win


def _padded(refs: list[FloatArray], wins: list[FloatArray]) -> tuple[FloatArray, FloatArray]:
    """Stack count vectors of different lengths into zero-padded matrices."""
    width = max(r.size for r in refs)
    ref_m = np.zeros((len(refs), width))
    win_m = np.zeros((len(refs), width))
    for k, (r, w) in enumerate(zip(refs, wins, strict=True)):
        ref_m[k, : r.size] = r
        win_m[k, : w.size] = w
    return ref_m, win_m
