"""The typed memo: everything a handler depends on, built once at start-up.

kopf hands each handler a `memo`; declaring it as `OperatorContext` gives handlers typed
dependencies instead of module-level globals. `OperatorContext` is a `kopf.Memo` (a dict with
attribute access), so the same object works whether the operator is started by `__main__`
(which passes it to kopf) or by `kopf run` / `KopfRunner` (where the start-up handler fills
kopf's own memo with the same keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import kopf

if TYPE_CHECKING:
    from modelplane_crds.serving import ServingLimits
    from modelplane_operator.artifacts import ArtifactFetcher
    from modelplane_operator.builders.drift_monitor import JobConfig
    from modelplane_operator.cluster import Cluster
    from modelplane_operator.metrics import Metrics
    from modelplane_operator.rollout.reconcile import RolloutContext
    from modelplane_operator.settings import Settings
    from modelplane_operator.sts import StsMinter


class OperatorContext(kopf.Memo):
    """Dependencies of every handler."""

    settings: Settings
    cluster: Cluster
    fetcher: ArtifactFetcher
    limits: ServingLimits
    metrics: Metrics
    deployment_refs: dict[str, frozenset[str]]
    """Last seen ModelVersion references per ModelDeployment uid (see handlers.model_version)."""
    used_by_syncs: dict[str, bool]
    """Namespaces whose `usedBy` sync is running → whether another round was asked for."""
    rollout: RolloutContext
    """ModelDeployment state shared by every object's timer (see handlers.model_deployment)."""
    drift_job: JobConfig
    """What every DriftMonitor's CronJob runs (see handlers.drift_monitor)."""
    drift_credentials: StsMinter | None
    """Mints each DriftMonitor's own S3 credentials; None when jobs use the org's Secret."""
