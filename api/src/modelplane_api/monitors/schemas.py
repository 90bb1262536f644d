"""Request and response bodies of drift monitors. The spec is the DriftMonitor's own (one
shape per kind: `modelplane_crds.drift_monitor.DriftMonitorSpec`, camelCase as in YAML)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from modelplane_api.schemas import InputSchema, OutputSchema
from modelplane_crds.drift_monitor import DriftMonitorSpec

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class MonitorCreate(InputSchema):
    name: str = Field(min_length=1, max_length=63, pattern=NAME_PATTERN)
    """The DriftMonitor's name in the organization's namespace."""
    spec: DriftMonitorSpec
    """What `kubectl apply` would take: `deploymentRef`, `schedule`, `window`, `features`, …"""


class MonitorPublic(OutputSchema):
    name: str
    namespace: str
    deployment: str
    spec: dict[str, Any]
    state: str
    """`ready`, `stalled` (with reason), `reconciling`, or `pending` before the operator saw it."""
    reason: str | None
    message: str | None
    conditions: list[dict[str, Any]]
    last_evaluation: dict[str, Any] | None
    """The latest results: window, samples, per-feature statistic, p-value and verdict, the
    share of drifted features (`status.lastEvaluation`)."""
    last_schedule_time: str | None
