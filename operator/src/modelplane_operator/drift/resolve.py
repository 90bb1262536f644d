"""Resolve `--monitor <namespace>/<name>` into the job's explicit arguments.

The only part of the drift engine that reads the cluster, and deliberately thin: it reads the
DriftMonitor, its ModelDeployment (whose status names the stable and candidate versions) and the
stable ModelVersion through the operator's `cluster` gateway (no Kubernetes client of its own)
and hands their specs to the pure `monitor.arguments_from_specs`. Imported lazily, so the engine
itself never needs a cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelplane_crds.kinds import DRIFT_MONITOR, MODEL_DEPLOYMENT, MODEL_VERSION, Kind
from modelplane_operator.cluster import Cluster, ClusterError, KubeGateway, load_connection
from modelplane_operator.drift.monitor import (
    arguments_from_specs,
    serving_candidate_version,
    serving_stable_version,
)


def arguments_from_monitor(
    ref: str,
    kubeconfig: str | None,
    now: datetime | None = None,
    default_bucket: str | None = None,
) -> dict[str, str]:
    """Read the DriftMonitor `namespace/name` and derive the job's arguments (credentials: the
    kubeconfig, else in-cluster, else the default kubeconfig). The window is the payload logs
    of the version serving as stable; during a rollout the candidate's are a second window."""
    namespace, _, name = ref.partition("/")
    if not namespace or not name:
        raise ValueError(f"--monitor must be namespace/name, got {ref!r}")
    gateway = KubeGateway(load_connection(Path(kubeconfig) if kubeconfig else None))
    try:
        monitor = _get(gateway, DRIFT_MONITOR, namespace, name)
        deployment = _get(
            gateway, MODEL_DEPLOYMENT, namespace, monitor["spec"]["deploymentRef"]["name"]
        )
        version_name = serving_stable_version(deployment)
        version = _get(gateway, MODEL_VERSION, namespace, version_name)
    finally:
        gateway.close()
    return arguments_from_specs(
        namespace,
        deployment["metadata"]["name"],
        monitor["spec"],
        deployment["spec"],
        version["spec"],
        now or datetime.now(UTC),
        version_name=version_name,
        default_bucket=default_bucket,
        monitor_name=name,
        candidate_name=serving_candidate_version(deployment),
    )


def write_status(
    ref: str, kubeconfig: str | None, patch: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """Merge `patch(the monitor as it is now)` into the DriftMonitor's status (the job's only
    write)."""
    namespace, _, name = ref.partition("/")
    gateway = KubeGateway(load_connection(Path(kubeconfig) if kubeconfig else None))
    try:
        monitor = _get(gateway, DRIFT_MONITOR, namespace, name)
        status = patch(monitor)
        gateway.patch_status(DRIFT_MONITOR.api_version, DRIFT_MONITOR.kind, name, namespace, status)
    except ClusterError as exc:
        raise OSError(f"Kubernetes API error writing driftmonitors {ref} status: {exc}") from exc
    finally:
        gateway.close()


def _get(cluster: Cluster, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
    try:
        found = cluster.get(kind.api_version, kind.kind, name, namespace)
    except ClusterError as exc:
        raise OSError(
            f"Kubernetes API error reading {kind.plural} {namespace}/{name}: {exc}"
        ) from exc
    if found is None:
        raise ValueError(f"{kind.plural} {namespace}/{name} not found")
    return found
