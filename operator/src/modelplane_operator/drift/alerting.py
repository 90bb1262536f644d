"""After an evaluation, the job alerts the monitor's sinks (`modelplane_operator.alerts`):
first on dataset drift, then on the scored window's live quality.

The sinks' Secrets reach the job as files: the CronJob mounts each Secret the monitor names
under `<secrets dir>/<secret name>/<key>` (the kubelet reads them, so the job's ServiceAccount
needs no access to Secrets). What the job must know from before — whether the previous window
drifted or was degraded (so a resolve is sent once) and which sinks already have this
evaluation's alert — comes from the monitor's status as the job reads it just before writing its
own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
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
from modelplane_crds.quality import QualityEvaluation
from modelplane_operator.alerts import (
    MonitorRef,
    dedup_key,
    latest,
    recorded,
    resolve_targets,
    send_alerts,
)

SECRETS_DIR = Path(ALERT_SECRETS_DIR)


def deliver(
    monitor: Mapping[str, Any],
    evaluation: DriftEvaluation,
    version: str,
    now: datetime,
    secrets_dir: Path = SECRETS_DIR,
    quality: QualityEvaluation | None = None,
) -> list[dict[str, Any]] | None:
    """Send the evaluation's drift alert, then the scored window's quality alert, to the
    monitor's sinks; the `status.alerts` to write, or None when nothing was sent (the last
    deliveries then stay in status; a kind that sent nothing keeps its last ones)."""
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
    previous = recorded(status)
    with httpx.Client(follow_redirects=False) as client:
        send = partial(send_alerts, targets, ref, now=now, client=client, previous=previous)
        before = previously_drifted(status, evaluation.window_end, dedup_key(ref, evaluation))
        sent = send(evaluation, previously_firing=before)
        if quality is not None:
            before = previously_degraded(status, quality.window_end, dedup_key(ref, quality))
            sent += send(quality, previously_firing=before)
    if not sent:
        return None
    return [d.model_dump(mode="json", by_alias=True) for d in latest(previous, sent)]


def previously_drifted(status: Mapping[str, Any], window_end: datetime, key: str = "") -> bool:
    """Whether a drift alert is open before this window's evaluation: it fired for this very
    window (`key`: a rerun that now finds it calm must resolve it), else the verdict of the
    stable's last decided window before this one (a window with too few rows decides nothing,
    so it neither opens nor closes the alert; the candidate's lines never alert)."""
    sent = [d for d in recorded(status) if d.alert == "drift"]
    if key and any(d.key == key and d.state == "firing" for d in sent):
        return True
    for raw in status.get("recentEvaluations") or []:
        try:
            line = EvaluationSummary.model_validate(raw)
        except ValueError:
            continue
        if line.role == "stable" and line.window_end != window_end and not line.insufficient_data:
            return line.drifted
    return False


def previously_degraded(status: Mapping[str, Any], window_end: datetime, key: str) -> bool:
    """Whether a quality alert is open before the window scored now: the previous scored
    window's verdict. When there is none to go by (a rerun of this window replaced it, or it had
    too few labels to decide), the quality alert last sent says: one for this window (it fired
    for it, or resolved an earlier one), or a `firing` for an earlier window."""
    try:
        last = QualityEvaluation.model_validate(status.get("lastQuality") or None)
    except ValueError:
        last = None
    if last is not None and last.window_end != window_end and not last.insufficient_data:
        return last.degraded
    sent = [d for d in recorded(status) if d.alert == "quality"]
    return any(d.key == key or d.state == "firing" for d in sent)


def _read(secrets_dir: Path, selector: SecretKeySelector) -> bytes | None:
    """A mounted Secret key, or None when the Secret or the key is missing."""
    path = secrets_dir / selector.name / selector.key
    if "/" in selector.name or "/" in selector.key or ".." in (selector.name, selector.key):
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None
