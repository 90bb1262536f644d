"""What the model answered, as Prometheus series: the prediction distribution per output.

The facade summarises these per version over time (mean and quantiles of numerical outputs,
the share of each class), so a data scientist sees a candidate predict differently from the
stable version before any label arrives. Recorded once per `session.run` (a merged batch is
one call) with numpy, so the cost per request is O(outputs), not O(rows) in Python:

- an output with **one value per row** (shape `[-1]` or `[-1, 1]`) is tracked:
  - floating point (FP16/FP32/FP64) → histogram `modelplane_runtime_prediction_value` with
    `output` as label. Bounds: `prediction_buckets[output]` when set, else `DEFAULT_BUCKETS`
    (symmetric; 0.1 steps in (0, 1) for scores and probabilities, 1-2-5 per decade from 0.01
    to 50,000 for regressions). NaN and ±Inf are not observed (they would poison `_sum`).
  - integer, BOOL and BYTES → counter `modelplane_runtime_prediction_class` with labels
    `output` and `class`; after `prediction_max_classes` distinct classes of an output, new
    ones are counted as `__other__`, and class texts are cut to `MAX_CLASS_CHARS`.
- any other output (a probability map `[-1, K]`, an embedding, fixed shapes) is **not
  tracked**: K histograms per output multiply the series for what the class output (e.g.
  sklearn-onnx's `label`, the argmax) already says. At most `MAX_TRACKED_OUTPUTS` outputs are
  tracked, so the series per pod stay bounded: (buckets + 2) per numerical output and
  (classes + 1) per class output.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import Final

import numpy as np
from prometheus_client.core import CounterMetricFamily, Metric

from modelplane_crds.model_version import TensorSpec

VALUE_METRIC: Final = "modelplane_runtime_prediction_value"
CLASS_METRIC: Final = "modelplane_runtime_prediction_class"
OTHER: Final = "__other__"
MAX_CLASS_CHARS: Final = 64
MAX_TRACKED_OUTPUTS: Final = 16
FLOATS: Final = frozenset({"FP16", "FP32", "FP64"})
SMALL_CLASSES: Final = 4096
"""Integer labels below this are counted with `np.bincount`, others with `np.unique`."""


def _default_buckets() -> tuple[float, ...]:
    positive = sorted(
        {0.01, 0.02, 0.05, *(round(0.1 * i, 1) for i in range(1, 10))}
        | {m * 10.0**e for e in range(5) for m in (1, 2, 5)}
    )
    return (*(-b for b in reversed(positive)), 0.0, *positive)


DEFAULT_BUCKETS: Final = _default_buckets()
"""55 bounds: ±(0.01, 0.02, 0.05, 0.1 … 0.9, 1, 2, 5, 10 … 50,000) and 0."""


def _per_row_scalar(spec: TensorSpec) -> bool:
    return len(spec.shape) >= 1 and all(d == 1 for d in spec.shape[1:])


class _Values:
    """Histogram of one floating-point output: a numpy bucket array updated per batch."""

    def __init__(self, output: str, bounds: Sequence[float]) -> None:
        self.output = output
        self.bounds = np.asarray(sorted(float(b) for b in bounds), dtype=np.float64)
        self._bounds = tuple(self.bounds.tolist())
        self.counts = np.zeros(len(self._bounds) + 1, dtype=np.int64)
        self.sum = 0.0

    def observe(self, values: np.ndarray) -> None:
        """Record a batch of values, any shape (the caller holds the lock)."""
        if values.size == 1:
            value = float(values.item(0))
            if math.isfinite(value):
                # le buckets: a value equal to a bound belongs to it, as bisect_left says
                self.counts[bisect_left(self._bounds, value)] += 1
                self.sum += value
            return
        values = values.reshape(-1)
        total = float(values.sum(dtype=np.float64))
        if not math.isfinite(total):
            values = values[np.isfinite(values)]
            total = float(values.sum(dtype=np.float64))
        self.counts += np.bincount(
            np.searchsorted(self.bounds, values, side="left"), minlength=len(self.counts)
        )
        self.sum += total

    def buckets(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative buckets and the sum."""
        cumulative = np.cumsum(self.counts).tolist()
        les = [repr(b) for b in self._bounds] + ["+Inf"]
        return list(zip(les, cumulative, strict=True)), self.sum


class _Classes:
    """Counts per class of one label output, at most `cap` classes (then `__other__`)."""

    def __init__(self, output: str, cap: int) -> None:
        self.output = output
        self.cap = cap
        self.counts: dict[object, int] = {}
        self.other = 0

    def observe(self, values: np.ndarray) -> None:
        """Record a batch of labels, any shape (the caller holds the lock)."""
        if values.size == 1:
            self._add(values.item(0), 1)
            return
        values = values.reshape(-1)
        kind = values.dtype.kind
        if kind in "biu":  # class indices: a bincount is ~3x cheaper than np.unique's sort
            small = values.view(np.uint8) if kind == "b" else values
            if int(small.max()) < SMALL_CLASSES:
                try:
                    per_class = np.bincount(small)
                except (ValueError, TypeError):  # negative labels; uint64 does not cast
                    pass
                else:
                    seen = np.flatnonzero(per_class)
                    for value, n in zip(seen.tolist(), per_class[seen].tolist(), strict=True):
                        self._add(bool(value) if kind == "b" else value, n)
                    return
        found, times = np.unique(values, return_counts=True)
        for value, n in zip(found.tolist(), times.tolist(), strict=True):
            self._add(value, n)

    def _add(self, value: object, n: int) -> None:
        counts = self.counts
        if value in counts or len(counts) < self.cap:
            counts[value] = counts.get(value, 0) + n
        else:
            self.other += n

    def shares(self) -> dict[str, int]:
        """Counts by class text (`__other__` included once anything overflowed)."""
        named: dict[str, int] = {}
        for value, n in self.counts.items():
            text = _class_text(value)
            named[text] = named.get(text, 0) + n
        if self.other:
            named[OTHER] = named.get(OTHER, 0) + self.other
        return named


def _class_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value)[:MAX_CLASS_CHARS]


class PredictionMetrics:
    """The prediction series of the tracked outputs (see the module docstring)."""

    def __init__(
        self,
        outputs: Sequence[TensorSpec],
        *,
        buckets: Mapping[str, Sequence[float]] | None = None,
        max_classes: int = 32,
    ) -> None:
        buckets = buckets or {}
        tracked = [s for s in outputs if _per_row_scalar(s)][:MAX_TRACKED_OUTPUTS]
        self.values = [
            _Values(s.name, buckets.get(s.name, DEFAULT_BUCKETS))
            for s in tracked
            if s.datatype in FLOATS
        ]
        self.classes = [_Classes(s.name, max_classes) for s in tracked if s.datatype not in FLOATS]
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether any output is tracked."""
        return bool(self.values or self.classes)

    def observe(self, outputs: Mapping[str, np.ndarray]) -> None:
        """Record one `session.run`'s outputs (every row of the batch)."""
        with self._lock:
            for histogram in self.values:
                found = outputs.get(histogram.output)
                if found is not None and found.size:
                    histogram.observe(found)
            for classes in self.classes:
                found = outputs.get(classes.output)
                if found is not None and found.size:
                    classes.observe(found)

    def collect(self, labels: Sequence[str], label_names: Sequence[str]) -> Iterator[Metric]:
        """The two families, for the runtime's collector."""
        # Built sample by sample: prometheus_client's HistogramMetricFamily drops `_sum` and
        # `_count` when a bound is negative (an OpenMetrics rule); the 0.0.4 text format that
        # Prometheus scrapes here has no such rule, and the facade's mean needs both.
        values = Metric(
            VALUE_METRIC, "Values of the model's numerical outputs (one per row), by output",
            "histogram",
        )  # fmt: skip
        classes = CounterMetricFamily(
            CLASS_METRIC,
            "Rows predicted per class of the model's label outputs, by output"
            f" (classes beyond the cap count as {OTHER})",
            labels=[*label_names, "output", "class"],
        )
        with self._lock:
            for histogram in self.values:
                buckets, total = histogram.buckets()
                named = dict(zip(label_names, labels, strict=True), output=histogram.output)
                for le, count in buckets:
                    values.add_sample(f"{VALUE_METRIC}_bucket", {**named, "le": le}, count)
                values.add_sample(f"{VALUE_METRIC}_count", named, buckets[-1][1])
                values.add_sample(f"{VALUE_METRIC}_sum", named, total)
            for counter in self.classes:
                for text, n in sorted(counter.shares().items()):
                    classes.add_metric([*labels, counter.output, text], n)
        yield values
        yield classes
