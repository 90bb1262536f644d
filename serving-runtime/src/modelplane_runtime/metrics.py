"""Prometheus metrics of one serving pod, in a registry of its own (one per app).

Canary analysis reads these from each variant's pods: request counts by status code, latency,
batch sizes and schema violations (requests refused because they do not fit the signature).
`modelplane_runtime_model_info` carries the served version and digest as labels.
Label children are created once here, so the request path only calls `inc`/`observe`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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


class RuntimeMetrics:
    """The runtime's metric families."""

    def __init__(self, model_name: str, model_version: str, digest: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["model", "version"]
        self._labels = (model_name, model_version)
        self.requests = Counter(
            "modelplane_runtime_requests",
            "Inference requests by status code",
            [*labels, "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "modelplane_runtime_request_duration_seconds",
            "Inference request latency (body read to response)",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.inference = Histogram(
            "modelplane_runtime_inference_duration_seconds",
            "Duration of one onnxruntime session.run",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "modelplane_runtime_batch_size",
            "Rows per onnxruntime session.run",
            labels,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "modelplane_runtime_batch_requests",
            "Requests merged into one onnxruntime session.run",
            labels,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.schema_violations = Counter(
            "modelplane_runtime_schema_violations",
            "Requests refused because they do not fit the model's signature",
            [*labels, "violation"],
            registry=self.registry,
        )
        self.payload_rows = Counter(
            "modelplane_runtime_payload_log_rows",
            "Payload-log rows by outcome (written, dropped_full, dropped_error)",
            [*labels, "outcome"],
            registry=self.registry,
        )
        info = Gauge(
            "modelplane_runtime_model_info",
            "The served model",
            [*labels, "sha256"],
            registry=self.registry,
        )
        info.labels(model_name, model_version, digest).set(1)
        self.latency_child = self.latency.labels(*self._labels)
        self.inference_child = self.inference.labels(*self._labels)
        self.batch_size_child = self.batch_size.labels(*self._labels)
        self.batch_requests_child = self.batch_requests.labels(*self._labels)
        self._codes = {
            code: self.requests.labels(*self._labels, str(code))
            for code in (200, 400, 404, 405, 500, 503)
        }

    def count_request(self, code: int, seconds: float) -> None:
        """Record one finished inference request."""
        child = self._codes.get(code)
        if child is None:
            child = self._codes[code] = self.requests.labels(*self._labels, str(code))
        child.inc()
        self.latency_child.observe(seconds)

    def count_violation(self, violation: str) -> None:
        """Record one schema violation."""
        self.schema_violations.labels(*self._labels, violation).inc()

    def count_payload_rows(self, outcome: str, rows: int) -> None:
        """Record payload-log rows written or dropped."""
        self.payload_rows.labels(*self._labels, outcome).inc(rows)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
