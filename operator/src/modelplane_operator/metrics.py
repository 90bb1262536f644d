"""Prometheus metrics of the operator: reconciles by kind and outcome, durations, queue depth,
and the rollouts' series (step, traffic weight, analysis measurements, passes, API calls).

One `Metrics` object per operator process, built at start-up, on its own registry (so tests can
run several operators in one process), served by `serve()` on the configured port. Handlers wrap
their work in `track(kind)`, which counts the outcome from the exception kopf will see. The
rollout series are `Metrics.rollout` (a `RolloutMetrics` on the same registry, so one `/metrics`
page shows both); labels are namespace, deployment and (for measurements) check, and a deleted
deployment's series are removed so the page does not grow without bound.

Drift and quality alerts are sent by the drift job, whose pod lives too briefly to be scraped;
it writes one `AlertDelivery` per sink and alert kind into the monitor's `status.alerts`, and
`Metrics.drift_alerts` (the monitor's alerts, both kinds) counts each record once when the
operator sees it (`modelplane_drift_alerts_total`, `modelplane_quality_alerts_total`). For the
same reason `Metrics.drift` exports the monitor's `status.lastEvaluation` as gauges
(`modelplane_drift_…` per monitor, and per feature and output): the series of a feature no
longer evaluated are removed, and so are all of a deleted monitor's, so cardinality is bounded
by the CRD's feature limit.
`Metrics.quality` does the same for live quality (`modelplane_quality_…` per monitor, role —
the serving `stable` version's `status.lastQuality` and, during a rollout, the `candidate`'s —
and metric).

Queue depth is what the operator can observe of kopf's queue: objects being reconciled right now
plus objects waiting for a retry after a transient failure.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from threading import Lock, Thread
from typing import Any

import kopf
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from modelplane_crds.drift_monitor import AlertDelivery
from modelplane_crds.drift_results import DriftEvaluation, FeatureDriftResult
from modelplane_crds.model_deployment import Measurement, ModelDeploymentStatus
from modelplane_crds.quality import QualityEvaluation


class RolloutMetrics:
    """`modelplane_rollout_step`, `modelplane_rollout_traffic_weight`,
    `modelplane_rollout_analysis_measurement`, `modelplane_rollout_passes` and
    `modelplane_rollout_api_calls` on `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.step = Gauge(
            "modelplane_rollout_step",
            "Index of the canary step in progress (-1 when no rollout is in progress)",
            ["namespace", "deployment"],
            registry=registry,
        )
        self.weight = Gauge(
            "modelplane_rollout_traffic_weight",
            "Percent of traffic sent to each variant",
            ["namespace", "deployment", "variant"],
            registry=registry,
        )
        self.measurement = Gauge(
            "modelplane_rollout_analysis_measurement",
            "Last measured value of each analysis check of the current candidate",
            ["namespace", "deployment", "check"],
            registry=registry,
        )
        self.passes = Counter(
            "modelplane_rollout_passes",
            "ModelDeployment reconcile passes that did work (settled objects skipped)",
            registry=registry,
        )
        self.api_calls = Counter(
            "modelplane_rollout_api_calls",
            "Kubernetes API calls made by ModelDeployment passes, by operation"
            " (kopf's own status patch not included)",
            ["operation"],
            registry=registry,
        )
        self._checks: dict[tuple[str, str], set[str]] = {}

    def record(self, namespace: str, deployment: str, status: ModelDeploymentStatus) -> None:
        """Export what one reconcile pass wrote to status."""
        self.step.labels(namespace, deployment).set(
            -1 if status.current_step is None else status.current_step
        )
        traffic = status.traffic
        self.weight.labels(namespace, deployment, "stable").set(traffic.stable if traffic else 100)
        self.weight.labels(namespace, deployment, "candidate").set(
            traffic.candidate if traffic else 0
        )
        if status.analysis is not None:
            self.measurements(namespace, deployment, status.analysis.measurements)

    def measurements(
        self, namespace: str, deployment: str, measurements: Iterable[Measurement]
    ) -> None:
        """Set each check's gauge to its newest value."""
        seen = self._checks.setdefault((namespace, deployment), set())
        for m in measurements:
            self.measurement.labels(namespace, deployment, m.check).set(m.value)
            seen.add(m.check)

    def forget(self, namespace: str, deployment: str) -> None:
        """Remove a deleted deployment's series."""
        with contextlib.suppress(KeyError):
            self.step.remove(namespace, deployment)
        for variant in ("stable", "candidate"):
            with contextlib.suppress(KeyError):
                self.weight.remove(namespace, deployment, variant)
        for check in self._checks.pop((namespace, deployment), set()):
            with contextlib.suppress(KeyError):
                self.measurement.remove(namespace, deployment, check)


class AlertMetrics:
    """`modelplane_drift_alerts_total` and `modelplane_quality_alerts_total`, both
    `{namespace,monitor,sink,outcome}` on `registry`, counted from the deliveries the drift job
    wrote into a monitor's status (each record into its alert kind's counter)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["namespace", "monitor", "sink", "outcome"]
        text = "by sink type (webhook, alertmanager) and outcome (delivered, failed)"
        self.counters: dict[str, Counter] = {
            "drift": Counter(
                "modelplane_drift_alerts", f"Drift alerts {text}", labels, registry=registry
            ),
            "quality": Counter(
                "modelplane_quality_alerts",
                f"Quality alerts {text}",
                labels,
                registry=registry,
            ),
        }
        self._seen: dict[tuple[str, str], set[tuple[object, ...]]] = {}

    def record(self, namespace: str, monitor: str, deliveries: Iterable[AlertDelivery]) -> None:
        """Count the deliveries not counted before (status is read on every pass; a delivery
        copied unchanged into a re-run's status keeps its time and is not counted again)."""
        current = {
            (d.alert, d.sink, d.type, d.key, d.state, d.outcome, d.time): d for d in deliveries
        }
        seen = self._seen.get((namespace, monitor), set())
        for identity, delivery in current.items():
            if identity not in seen:
                outcome = delivery.outcome.lower()
                counter = self.counters[delivery.alert]
                counter.labels(namespace, monitor, delivery.type, outcome).inc()
        # Only the current records can reappear: status holds each kind's last deliveries.
        self._seen[(namespace, monitor)] = set(current)

    def forget(self, namespace: str, monitor: str) -> None:
        """Remove a deleted monitor's series."""
        self._seen.pop((namespace, monitor), None)
        for counter in self.counters.values():
            for sink in ("webhook", "alertmanager"):
                for outcome in ("delivered", "failed"):
                    with contextlib.suppress(KeyError):
                        counter.remove(namespace, monitor, sink, outcome)


class DriftMetrics:
    """The last evaluation of each DriftMonitor as gauges on `registry`: per feature and per
    output the statistic and whether it drifted; per monitor the dataset drift share, whether the
    dataset drifted, the rows evaluated and the end of the evaluated window."""

    def __init__(self, registry: CollectorRegistry) -> None:
        per_monitor = ["namespace", "monitor"]

        def gauge(name: str, text: str, labels: list[str]) -> Gauge:
            return Gauge(name, text, labels, registry=registry)

        def pair(kind: str, label: str, what: str) -> tuple[Gauge, Gauge]:
            labels = [*per_monitor, label, "test"]
            window = "in the last evaluated window"
            statistic = f"Drift statistic of each {what} {window}"
            drifted = f"1 when the {what} drifted {window}, else 0"
            return (
                gauge(f"modelplane_drift_{kind}_statistic", statistic, labels),
                gauge(f"modelplane_drift_{kind}_drifted", drifted, labels),
            )

        self.feature_statistic, self.feature_drifted = pair("feature", "feature", "input feature")
        self.prediction_statistic, self.prediction_drifted = pair(
            "prediction", "output", "model output"
        )
        self.dataset_share = gauge(
            "modelplane_drift_dataset_share",
            "Share of the tested input features that drifted in the last evaluated window",
            per_monitor,
        )
        self.dataset_drifted = gauge(
            "modelplane_drift_dataset_drifted",
            "1 when the dataset drifted in the last evaluated window, else 0",
            per_monitor,
        )
        self.samples = gauge(
            "modelplane_drift_samples", "Logged rows in the last evaluated window", per_monitor
        )
        self.window_end = gauge(
            "modelplane_drift_last_window_end_timestamp_seconds",
            "End of the last evaluated window (Unix time)",
            per_monitor,
        )
        self._tested: dict[tuple[str, str], tuple[set[tuple[str, str]], set[tuple[str, str]]]] = {}

    def record(self, namespace: str, monitor: str, evaluation: DriftEvaluation | None) -> None:
        """Export the monitor's last evaluation; None (nothing evaluated yet) removes its series."""
        if evaluation is None:
            self.forget(namespace, monitor)
            return
        features, outputs = self._tested.get((namespace, monitor), (set(), set()))
        current = (
            self._results(
                namespace, monitor, evaluation.features, self.feature_statistic,
                self.feature_drifted, features,
            ),
            self._results(
                namespace, monitor, evaluation.prediction_drift, self.prediction_statistic,
                self.prediction_drifted, outputs,
            ),
        )  # fmt: skip
        self._tested[(namespace, monitor)] = current
        self.samples.labels(namespace, monitor).set(evaluation.samples)
        self.window_end.labels(namespace, monitor).set(evaluation.window_end.timestamp())
        if evaluation.dataset is None:  # too few rows: no decision, no share
            for gauge in (self.dataset_share, self.dataset_drifted):
                with contextlib.suppress(KeyError):
                    gauge.remove(namespace, monitor)
            return
        self.dataset_share.labels(namespace, monitor).set(evaluation.dataset.share)
        self.dataset_drifted.labels(namespace, monitor).set(int(evaluation.dataset.drifted))

    @staticmethod
    def _results(
        namespace: str,
        monitor: str,
        results: Iterable[FeatureDriftResult],
        statistic: Gauge,
        drifted: Gauge,
        before: set[tuple[str, str]],
    ) -> set[tuple[str, str]]:
        """Set one gauge pair per result; remove the pairs of results gone since `before`."""
        now: set[tuple[str, str]] = set()
        for result in results:
            statistic.labels(namespace, monitor, result.feature, result.test).set(result.statistic)
            drifted.labels(namespace, monitor, result.feature, result.test).set(int(result.drifted))
            now.add((result.feature, result.test))
        for feature, test in before - now:
            for gauge in (statistic, drifted):
                with contextlib.suppress(KeyError):
                    gauge.remove(namespace, monitor, feature, test)
        return now

    def forget(self, namespace: str, monitor: str) -> None:
        """Remove every series of a monitor (deleted, or with nothing evaluated)."""
        features, outputs = self._tested.pop((namespace, monitor), (set(), set()))
        self._results(
            namespace, monitor, (), self.feature_statistic, self.feature_drifted, features
        )
        self._results(
            namespace, monitor, (), self.prediction_statistic, self.prediction_drifted, outputs
        )
        for gauge in (self.dataset_share, self.dataset_drifted, self.samples, self.window_end):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, monitor)


class QualityMetrics:
    """The last scored window of each monitor with `spec.quality` as gauges on `registry`, per
    role (`stable`: the serving version; `candidate`: the version being rolled out): each
    metric's value, whether any metric is outside its thresholds, and the labelled rows."""

    ROLES = ("stable", "candidate")

    def __init__(self, registry: CollectorRegistry) -> None:
        per_role = ["namespace", "monitor", "role"]
        self.value = Gauge(
            "modelplane_quality_metric",
            "Value of each quality metric (accuracy, mae, …) in the last scored window",
            [*per_role, "metric"],
            registry=registry,
        )
        self.degraded = Gauge(
            "modelplane_quality_degraded",
            "1 when a quality metric was outside its thresholds in the last scored window, else"
            " 0 (absent with too few labels)",
            per_role,
            registry=registry,
        )
        self.labelled = Gauge(
            "modelplane_quality_labelled_rows",
            "Predictions with a label in the last scored window",
            per_role,
            registry=registry,
        )
        self._metrics: dict[tuple[str, str, str], set[str]] = {}

    def record(
        self,
        namespace: str,
        monitor: str,
        stable: QualityEvaluation | None,
        candidate: QualityEvaluation | None,
    ) -> None:
        """Export both roles' last quality; a role with none loses its series."""
        for role, quality in zip(self.ROLES, (stable, candidate), strict=True):
            self._record(namespace, monitor, role, quality)

    def _record(
        self, namespace: str, monitor: str, role: str, quality: QualityEvaluation | None
    ) -> None:
        before = self._metrics.pop((namespace, monitor, role), set())
        now: set[str] = set()
        if quality is not None:
            self.labelled.labels(namespace, monitor, role).set(quality.labelled_rows)
            for result in quality.metrics:
                if result.value is not None:
                    self.value.labels(namespace, monitor, role, result.metric).set(result.value)
                    now.add(result.metric)
            if not quality.insufficient_data:
                self.degraded.labels(namespace, monitor, role).set(int(quality.degraded))
            self._metrics[(namespace, monitor, role)] = now
        for metric in before - now:
            with contextlib.suppress(KeyError):
                self.value.remove(namespace, monitor, role, metric)
        gone = [self.labelled, self.degraded] if quality is None else []
        if quality is not None and quality.insufficient_data:
            gone = [self.degraded]
        for gauge in gone:
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, monitor, role)

    def forget(self, namespace: str, monitor: str) -> None:
        """Remove every series of a monitor."""
        self.record(namespace, monitor, None, None)


class CountingCluster:
    """A `Cluster` that counts the calls it forwards (for `modelplane_rollout_api_calls`)."""

    def __init__(self, inner: Any, metrics: RolloutMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def __getattr__(self, operation: str) -> Any:
        target = getattr(self._inner, operation)
        if not callable(target):
            return target
        counter = self._metrics.api_calls.labels(operation)

        def call(*args: Any, **kwargs: Any) -> Any:
            counter.inc()
            return target(*args, **kwargs)

        return call


class Metrics:
    """The operator's series on a private registry, the rollouts' (`rollout`), the drift
    alerts' (`drift_alerts`), the drift evaluations' (`drift`) and live quality's (`quality`)
    included."""

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
        self.rollout = RolloutMetrics(self.registry)
        self.drift_alerts = AlertMetrics(self.registry)
        self.drift = DriftMetrics(self.registry)
        self.quality = QualityMetrics(self.registry)
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
