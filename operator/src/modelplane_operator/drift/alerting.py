"""After an evaluation, the job alerts the monitor's sinks (`modelplane_operator.alerts`).

The sinks' Secrets reach the job as files: the CronJob mounts each Secret the monitor names
under `<secrets dir>/<secret name>/<key>` (the kubelet reads them, so the job's ServiceAccount
needs no access to Secrets). What the job must know from before — whether the previous window
drifted (so a resolve is sent once) and which sinks already have this evaluation's alert — comes
from the monitor's status as the job reads it just before writing its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from modelplane_crds.base import SecretKeySelector
from modelplane_crds.drift_monitor import (
    ALERT_SECRETS_DIR,
    DriftMonitorSpec,
    EvaluationSummary,
)
from modelplane_crds.drift_results import DriftEvaluation
from modelplane_operator.alerts import MonitorRef, recorded, resolve_targets, send_alerts

SECRETS_DIR = Path(ALERT_SECRETS_DIR)


def deliver(
    monitor: Mapping[str, Any],
    evaluation: DriftEvaluation,
    version: str,
    now: datetime,
    secrets_dir: Path = SECRETS_DIR,
) -> list[dict[str, Any]] | None:
    """Send the evaluation's alert to the monitor's sinks; the `status.alerts` to write, or
    None when nothing was sent (the last deliveries then stay in status)."""
    spec = DriftMonitorSpec.model_validate(monitor.get("spec") or {})
    if not spec.alerts:
        return None
    meta, status = monitor.get("metadata") or {}, monitor.get("status") or {}
    ref = MonitorRef(
        namespace=str(meta.get("namespace")),
        name=str(meta.get("name")),
        uid=str(meta.get("uid") or ""),
        deployment=spec.deployment_ref.name,
        model_version=version,
    )
    targets = resolve_targets(spec.alerts, lambda selector: _read(secrets_dir, selector))
    with httpx.Client(follow_redirects=False) as client:
        deliveries = send_alerts(
            targets,
            ref,
            evaluation,
            previously_drifted=previously_drifted(status, evaluation.window_end),
            now=now,
            client=client,
            previous=recorded(status),
        )
    if not deliveries:
        return None
    return [d.model_dump(mode="json", by_alias=True) for d in deliveries]


def previously_drifted(status: Mapping[str, Any], window_end: datetime) -> bool:
    """Whether the stable's evaluation before this window's found dataset drift (a rerun of
    this window looks past its own earlier line; the candidate's lines never alert)."""
    for raw in status.get("recentEvaluations") or []:
        try:
            line = EvaluationSummary.model_validate(raw)
        except ValueError:
            continue
        if line.role == "stable" and line.window_end != window_end:
            return line.drifted
    return False


def _read(secrets_dir: Path, selector: SecretKeySelector) -> bytes | None:
    """A mounted Secret key, or None when the Secret or the key is missing."""
    path = secrets_dir / selector.name / selector.key
    if "/" in selector.name or "/" in selector.key or ".." in (selector.name, selector.key):
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None
