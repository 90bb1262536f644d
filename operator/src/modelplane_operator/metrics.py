"""Prometheus metrics of the operator: reconciles by kind and outcome, durations, queue depth.

One `Metrics` object per operator process, on its own registry (so tests can run several
operators in one process), served by `serve()` on the configured port. Handlers wrap their work
in `track(kind)`, which counts the outcome from the exception kopf will see.

Queue depth is what the operator can observe of kopf's queue: objects being reconciled right now
plus objects waiting for a retry after a transient failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from threading import Lock, Thread
from typing import Any

import kopf
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class Metrics:
    """The operator's series on a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "modelplane_operator_reconciles",
            "Reconcile passes by kind and outcome (success, retry, stalled, error)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "modelplane_operator_reconcile_duration_seconds",
            "Time one reconcile pass took, by kind",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "modelplane_operator_queue_depth",
            "Objects being reconciled or waiting for a retry, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.artifact_bytes = Counter(
            "modelplane_operator_artifact_bytes",
            "Bytes of model artifacts downloaded and verified",
            registry=self.registry,
        )
        self._waiting: dict[str, set[str]] = {}
        self._running: dict[str, int] = {}
        self._lock = Lock()
        self._server: Any = None
        self._thread: Thread | None = None

    def _update(self, kind: str) -> None:
        depth = self._running.get(kind, 0) + len(self._waiting.get(kind, set()))
        self.queue_depth.labels(kind).set(depth)

    @contextmanager
    def track(self, kind: str, uid: str) -> Iterator[None]:
        """Time one pass and count its outcome by the exception that leaves it."""
        with self._lock:
            self._running[kind] = self._running.get(kind, 0) + 1
            self._waiting.setdefault(kind, set()).discard(uid)
            self._update(kind)
        started = time.perf_counter()
        outcome = "success"
        try:
            yield
        except kopf.TemporaryError:
            outcome = "retry"
            raise
        except kopf.PermanentError:
            outcome = "stalled"
            raise
        except BaseException:
            outcome = "error"
            raise
        finally:
            self.duration.labels(kind).observe(time.perf_counter() - started)
            self.reconciles.labels(kind, outcome).inc()
            with self._lock:
                self._running[kind] -= 1
                if outcome in {"retry", "error"}:
                    self._waiting.setdefault(kind, set()).add(uid)
                self._update(kind)

    def forget(self, kind: str, uid: str) -> None:
        """An object is gone: it no longer waits for a retry."""
        with self._lock:
            self._waiting.setdefault(kind, set()).discard(uid)
            self._update(kind)

    def serve(self, host: str, port: int) -> int:
        """Serve /metrics on host:port in a thread; returns the bound port."""
        self._server, self._thread = start_http_server(port, host, registry=self.registry)
        return int(self._server.server_port)

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
