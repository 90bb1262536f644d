"""Prometheus series of rollouts: step, traffic weight and the last analysis measurements.

Registered on the operator's own registry (`Metrics.registry` from `modelplane_operator.metrics`)
so they are served on the same `/metrics` page; labels are namespace, deployment and (for
measurements) check. A deleted deployment's series are removed so the page does not grow without
bound.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from modelplane_crds.model_deployment import Measurement, ModelDeploymentStatus


class RolloutMetrics:
    """`modelplane_rollout_step`, `modelplane_rollout_traffic_weight`,
    `modelplane_rollout_analysis_measurement`."""

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


_ON_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, RolloutMetrics] = (
    weakref.WeakKeyDictionary()
)


def rollout_metrics(registry: CollectorRegistry) -> RolloutMetrics:
    """The rollout series on `registry`, created once (a start-up retry must not duplicate
    them)."""
    found = _ON_REGISTRY.get(registry)
    if found is None:
        found = _ON_REGISTRY[registry] = RolloutMetrics(registry)
    return found
