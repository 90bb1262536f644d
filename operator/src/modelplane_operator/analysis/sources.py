"""Per-variant samples of the serving runtime's metrics, and the arithmetic on them.

A `Snapshot` is the cumulative counters of one variant (summed over its pods) at one moment:
requests by status code, schema violations and the request-latency histogram, as the runtime
exports them (`modelplane_runtime_requests_total`, `…_schema_violations_total`,
`…_request_duration_seconds_bucket`). The difference of two snapshots is a `Sample` of one
interval; its p99 comes from the histogram buckets by the same linear interpolation as
Prometheus's `histogram_quantile`. A counter that went down (a pod restarted) counts from zero.
`ShadowCounts` are the stable pods' comparisons of a candidate's answers to shadow copies
(`…_shadow_comparisons_total`), by the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample as MetricSample

REQUESTS = "modelplane_runtime_requests"
LATENCY = "modelplane_runtime_request_duration_seconds"
VIOLATIONS = "modelplane_runtime_schema_violations"
SHADOW = "modelplane_runtime_shadow_comparisons"


class SourceError(Exception):
    """Metrics could not be read (unreachable, malformed); the interval is inconclusive."""


@dataclass(frozen=True)
class Sample:
    """What one variant did in one interval."""

    requests: float
    errors: float
    violations: float
    p99_s: float | None
    """99th-percentile latency in seconds; None without requests."""

    @property
    def error_rate(self) -> float:
        """Share of requests answered with a 5xx (at most 1: Prometheus's `increase`
        extrapolates each series separately, so a ratio of two of them can overshoot)."""
        return min(1.0, self.errors / self.requests) if self.requests > 0 else 0.0

    @property
    def violation_rate(self) -> float:
        """Share of requests refused for not fitting the signature (at most 1)."""
        return min(1.0, self.violations / self.requests) if self.requests > 0 else 0.0


@dataclass
class Snapshot:
    """Cumulative counters of one variant at one moment (summed over pods)."""

    codes: dict[str, float] = field(default_factory=dict)
    violations: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)
    """Cumulative histogram counts by upper bound (`+Inf` as math.inf)."""

    def add(self, other: Snapshot) -> Snapshot:
        """The sum of two snapshots (two pods of one variant)."""
        codes = dict(self.codes)
        for code, value in other.codes.items():
            codes[code] = codes.get(code, 0.0) + value
        buckets = dict(self.buckets)
        for bound, value in other.buckets.items():
            buckets[bound] = buckets.get(bound, 0.0) + value
        return Snapshot(codes, self.violations + other.violations, buckets)

    def delta(self, earlier: Snapshot) -> Snapshot:
        """The increase since `earlier` (a counter that went down restarted from zero)."""
        return Snapshot(
            {c: _delta(v, earlier.codes.get(c, 0.0)) for c, v in self.codes.items()},
            _delta(self.violations, earlier.violations),
            {b: _delta(v, earlier.buckets.get(b, 0.0)) for b, v in self.buckets.items()},
        )

    def to_sample(self) -> Sample:
        """Read increases as one interval's sample."""
        return Sample(
            requests=sum(self.codes.values()),
            errors=sum(v for c, v in self.codes.items() if c.startswith("5")),
            violations=self.violations,
            p99_s=histogram_quantile(0.99, self.buckets),
        )

    def minus(self, earlier: Snapshot) -> Sample:
        """The interval between `earlier` and this snapshot."""
        return self.delta(earlier).to_sample()


def _delta(now: float, before: float) -> float:
    return now - before if now >= before else now


def histogram_quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus's `histogram_quantile` over cumulative bucket counts; None when empty."""
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] <= 0:
        return None
    total = ordered[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound  # the highest finite bound, as Prometheus does
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def _samples(text: str) -> list[MetricSample]:
    try:
        return [s for family in text_string_to_metric_families(text) for s in family.samples]
    except ValueError as exc:
        raise SourceError(f"malformed metrics page: {exc}") from exc


def parse_snapshot(text: str, labels: Mapping[str, str] | None = None) -> Snapshot:
    """A snapshot from one `/metrics` page (optionally only samples with these labels)."""
    snap = Snapshot()
    wanted = dict(labels or {})
    for sample in _samples(text):
        if any(sample.labels.get(k) != v for k, v in wanted.items()):
            continue
        if sample.name == f"{REQUESTS}_total":
            code = sample.labels.get("code", "")
            snap.codes[code] = snap.codes.get(code, 0.0) + float(sample.value)
        elif sample.name == f"{VIOLATIONS}_total":
            snap.violations += float(sample.value)
        elif sample.name == f"{LATENCY}_bucket":
            bound = float(sample.labels.get("le", "+Inf"))
            snap.buckets[bound] = snap.buckets.get(bound, 0.0) + float(sample.value)
    return snap


@dataclass(frozen=True)
class ShadowCounts:
    """Shadow copies the stable pods sent to one candidate, by how its answers compared."""

    agreed: float = 0.0
    disagreed: float = 0.0
    errors: float = 0.0

    @property
    def comparisons(self) -> float:
        """Copies compared; one the candidate refused or failed counts as a disagreement."""
        return self.agreed + self.disagreed + self.errors

    @property
    def agreement_rate(self) -> float | None:
        """Share of the compared copies answered as the stable version did; None before the
        first."""
        return self.agreed / self.comparisons if self.comparisons > 0 else None

    def plus(self, other: ShadowCounts) -> ShadowCounts:
        """The sum of two pods' counts."""
        return ShadowCounts(
            self.agreed + other.agreed,
            self.disagreed + other.disagreed,
            self.errors + other.errors,
        )

    def minus(self, earlier: ShadowCounts) -> ShadowCounts:
        """The increase since `earlier` (a counter that went down restarted from zero)."""
        return ShadowCounts(
            _delta(self.agreed, earlier.agreed),
            _delta(self.disagreed, earlier.disagreed),
            _delta(self.errors, earlier.errors),
        )


def parse_shadow(text: str, stable: Mapping[str, str], shadow_version: str) -> ShadowCounts:
    """The shadow comparisons on one stable pod's `/metrics` page for one candidate version."""
    counts = {"agree": 0.0, "disagree": 0.0, "error": 0.0}
    for sample in _samples(text):
        labels = sample.labels
        if sample.name != f"{SHADOW}_total" or labels.get("shadow_version") != shadow_version:
            continue
        if any(labels.get(k) != v for k, v in stable.items()):
            continue
        result = labels.get("result", "")
        if result in counts:
            counts[result] += float(sample.value)
    return ShadowCounts(counts["agree"], counts["disagree"], counts["error"])


def total(snapshots: Iterable[Snapshot]) -> Snapshot:
    """The sum of the snapshots of a variant's pods."""
    result = Snapshot()
    for snap in snapshots:
        result = result.add(snap)
    return result
