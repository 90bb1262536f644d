"""Prometheus metrics of one app, on its own registry (served at `/metrics`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """The facade's series; one instance per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "modelplane_api_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "modelplane_api_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.rate_limited = Counter(
            "modelplane_api_rate_limited_total",
            "Requests refused with 429 by bucket",
            ["bucket"],
            registry=self.registry,
        )
        self.rate_limit_errors = Counter(
            "modelplane_api_rate_limit_backend_errors_total",
            "Rate-limit checks that could not reach Redis, by bucket and decision",
            ["bucket", "decision"],
            registry=self.registry,
        )
        self.audit_events = Counter(
            "modelplane_api_audit_events_total",
            "Audit events written by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "modelplane_api_outbox_pending",
            "Cluster writes stored in the outbox, waiting for the cluster",
            registry=self.registry,
        )
        self.outbox_applied = Counter(
            "modelplane_api_outbox_applied_total",
            "Outbox entries the cluster accepted after waiting",
            registry=self.registry,
        )
        self.reconcile_reapplied = Counter(
            "modelplane_api_reconcile_reapplied_total",
            "Custom resources the periodic reconciliation re-applied, by kind and cause "
            "(missing: absent from the cluster; drifted: differs from the database)",
            ["kind", "cause"],
            registry=self.registry,
        )
        self.reconcile_runs = Counter(
            "modelplane_api_reconcile_runs_total",
            "Periodic reconciliations by result (ok, cluster_unavailable)",
            ["result"],
            registry=self.registry,
        )
