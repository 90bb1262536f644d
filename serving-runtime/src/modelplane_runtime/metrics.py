"""Prometheus metrics of one serving pod, in a registry of its own (one per app).

Canary analysis reads these from each variant's pods: request counts by status code, latency,
batch sizes and schema violations (requests refused because they do not fit the signature).
`modelplane_runtime_model_info` carries the served version and digest as labels. The prediction
distribution (`modelplane_runtime_prediction_value` / `_class`) is `predictions.py`'s.

The per-request series (requests, latency, inference time, batch sizes) are plain Python
counters exported by a custom collector at scrape time: prometheus_client's `Histogram.observe`
takes a lock and increments two values per call, which cost more than the inference itself for
small models. The exposition is the same `_bucket` / `_sum` / `_count` families.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from modelplane_runtime.predictions import PredictionMetrics

LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LABELS = ("model", "version")


class FastHistogram:
    """A histogram for the hot path: a bisect and two additions under an uncontended lock."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(float(b) for b in buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        """Record one value."""
        with self._lock:
            self.counts[bisect_left(self.bounds, value)] += 1
            self.sum += value

    def family(self, labels: Sequence[str]) -> HistogramMetricFamily:
        """The metric family with cumulative buckets."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=LABELS)
        with self._lock:
            counts, total = list(self.counts), self.sum
        cumulative, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
            running += count
            cumulative.append((_le(bound), running))
        family.add_metric(list(labels), cumulative, total)
        return family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class _HotCollector(Collector):
    def __init__(self, metrics: RuntimeMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        requests = CounterMetricFamily(
            "modelplane_runtime_requests",
            "Inference requests by status code",
            labels=[*LABELS, "code"],
        )
        for code, count in sorted(m.request_counts.items()):
            requests.add_metric([*m.labels, str(code)], count)
        yield requests
        for histogram in (m.latency, m.inference, m.batch_size, m.batch_requests):
            yield histogram.family(m.labels)
        if m.predictions is not None:
            yield from m.predictions.collect(m.labels, LABELS)


class RuntimeMetrics:
    """The runtime's metric families."""

    def __init__(
        self,
        model_name: str,
        model_version: str,
        digest: str,
        predictions: PredictionMetrics | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.labels = (model_name, model_version)
        self.predictions = predictions if predictions is not None and predictions.enabled else None
        self.request_counts: dict[int, int] = {200: 0, 400: 0, 404: 0, 500: 0, 503: 0}
        self.latency = FastHistogram(
            "modelplane_runtime_request_duration_seconds",
            "Inference request latency (body read to response)",
            LATENCY_BUCKETS,
        )
        self.inference = FastHistogram(
            "modelplane_runtime_inference_duration_seconds",
            "Duration of one onnxruntime session.run",
            LATENCY_BUCKETS,
        )
        self.batch_size = FastHistogram(
            "modelplane_runtime_batch_size", "Rows per onnxruntime session.run", BATCH_BUCKETS
        )
        self.batch_requests = FastHistogram(
            "modelplane_runtime_batch_requests",
            "Requests merged into one onnxruntime session.run",
            BATCH_BUCKETS,
        )
        self.registry.register(_HotCollector(self))
        self.schema_violations = Counter(
            "modelplane_runtime_schema_violations",
            "Requests refused because they do not fit the model's signature",
            [*LABELS, "violation"],
            registry=self.registry,
        )
        self.payload_rows = Counter(
            "modelplane_runtime_payload_log_rows",
            "Payload-log rows by outcome (written, dropped_full, dropped_error)",
            [*LABELS, "outcome"],
            registry=self.registry,
        )
        self.shadow_comparisons = Counter(
            "modelplane_runtime_shadow_comparisons",
            "Shadow copies answered by the candidate, compared with this pod's answer"
            " (agree, disagree, error)",
            [*LABELS, "shadow_version", "result"],
            registry=self.registry,
        )
        self.shadow_skipped = Counter(
            "modelplane_runtime_shadow_skipped",
            "Sampled shadow copies not sent (no shadow reachable, or too many in flight)",
            list(LABELS),
            registry=self.registry,
        )
        info = Gauge(
            "modelplane_runtime_model_info",
            "The served model",
            [*LABELS, "sha256"],
            registry=self.registry,
        )
        info.labels(model_name, model_version, digest).set(1)

    def count_request(self, code: int, seconds: float) -> None:
        """Record one finished inference request (event-loop thread only)."""
        counts = self.request_counts
        counts[code] = counts.get(code, 0) + 1
        self.latency.observe(seconds)

    def count_run(self, seconds: float, rows: int, requests: int) -> None:
        """Record one `session.run`."""
        self.inference.observe(seconds)
        self.batch_size.observe(rows)
        self.batch_requests.observe(requests)

    def count_predictions(self, outputs: Mapping[str, np.ndarray]) -> None:
        """Record one `session.run`'s predictions (no-op when none is tracked)."""
        if self.predictions is not None:
            self.predictions.observe(outputs)

    def count_violation(self, violation: str) -> None:
        """Record one schema violation."""
        self.schema_violations.labels(*self.labels, violation).inc()

    def count_payload_rows(self, outcome: str, rows: int) -> None:
        """Record payload-log rows written or dropped."""
        self.payload_rows.labels(*self.labels, outcome).inc(rows)

    def count_shadow(self, shadow_version: str, result: str) -> None:
        """Record one shadow copy's comparison."""
        self.shadow_comparisons.labels(*self.labels, shadow_version, result).inc()

    def count_shadow_skipped(self) -> None:
        """Record one sampled shadow copy that was not sent."""
        self.shadow_skipped.labels(*self.labels).inc()

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
