"""Every state our four kinds can be in, and what Argo CD and kstatus must make of each.

A state is a sample object (manifests/samples), optionally changed, with the status the operator
writes in that state — built with the crds package's own status models and condition helpers and
the reasons the operator uses, so the table cannot drift from the operator's vocabulary — and,
for "the operator has not caught up yet", a spec change made after the status was written.

Where the two tools disagree it is by design (docs/operations.md, "Argo CD" and "kstatus / Flux
health"): kstatus has no Suspended (a paused rollout is InProgress, or Failed when the pause is
a Stalled one) and takes an object with no status at all as Current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from modelplane_crds import drift_monitor as dm
from modelplane_crds import model_deployment as md
from modelplane_crds import model_version as mv
from modelplane_crds import organization as org
from modelplane_crds.conditions import (
    INVALID_SPEC,
    PROGRESSING_WITH_RETRY,
    Condition,
    ConditionStatus,
    ObjectStatus,
    derive_phase,
    mark_ready,
    mark_reconciling,
    mark_retrying,
    mark_stalled,
    set_condition,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
NAMESPACE = "mp-gitops-health"
STABLE = "fraud-detector-v1"
CANDIDATE = "fraud-detector-v2"

Manifest = dict[str, Any]
StatusOf = Callable[[int], ObjectStatus]


@dataclass(frozen=True)
class State:
    """One (kind, state) row: how to reach it and what each evaluator must say."""

    kind: str
    name: str
    status: StatusOf | None
    """The status the operator writes in this state, for the object's generation; None: the
    operator has not written one yet."""
    argo: str
    kstatus: str
    says: str
    """A fragment Argo CD's health message must contain."""
    spec: Manifest = field(default_factory=dict)
    """A JSON merge patch of the sample's spec before the object is created."""
    change: Manifest | None = None
    """A JSON merge patch of the spec after the status is written (the generation moves on)."""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}"


def _org(conditions: list[Condition], generation: int) -> ObjectStatus:
    return org.OrganizationStatus(
        observed_generation=generation, conditions=conditions, namespace=NAMESPACE
    )


def _mv(conditions: list[Condition], generation: int, verified: bool = False) -> ObjectStatus:
    return mv.ModelVersionStatus(
        observed_generation=generation,
        conditions=conditions,
        verified_sha256="3f1b2c9a8e7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"
        if verified
        else None,
    )


def _verified(generation: int) -> ObjectStatus:
    found = set_condition([], mv.ARTIFACT_VERIFIED, "True", mv.VERIFIED, "", generation, NOW)
    found = set_condition(found, mv.SIGNATURE_VALID, "True", mv.VERIFIED, "", generation, NOW)
    message = "artifact and signature verified"
    return _mv(mark_ready(found, mv.VERIFIED, message, generation, NOW), generation, True)


def _mv_problem(reason: str, message: str, stalled: bool) -> StatusOf:
    def status(generation: int) -> ObjectStatus:
        verified: ConditionStatus = "True" if reason == mv.SIGNATURE_MISMATCH else "False"
        found = set_condition([], mv.ARTIFACT_VERIFIED, verified, reason, message, generation, NOW)
        mark = mark_stalled if stalled else mark_retrying
        return _mv(mark(found, reason, message, generation, NOW), generation)

    return status


def _mdep(
    conditions: list[Condition],
    generation: int,
    rollout: md.RolloutState,
    candidate_weight: int | None = None,
    rollback: bool = False,
) -> ObjectStatus:
    """A ModelDeployment status as the rollout machine leaves it (rollout/machine.py)."""
    in_rollout = candidate_weight is not None
    if in_rollout:
        healthy: ConditionStatus = "False" if rollback else "True"
        reason = md.ROLLED_BACK if rollback else md.ANALYSIS_PASSED
        conditions = set_condition(
            conditions, md.CANDIDATE_HEALTHY, healthy, reason, "", generation, NOW
        )
    return md.ModelDeploymentStatus(
        observed_generation=generation,
        conditions=conditions,
        phase=derive_phase(conditions, generation),
        stable_version=STABLE,
        candidate_version=CANDIDATE if in_rollout and not rollback else None,
        traffic=md.Traffic(
            stable=100 - (candidate_weight or 0), candidate=0 if rollback else candidate_weight or 0
        ),
        current_step=2 if in_rollout and not rollback else None,
        rollout_state=rollout,
        traffic_mode="ReplicaRatio",
        rollback=md.RollbackRecord(
            reason=md.ANALYSIS_FAILED,
            message="errorRate 0.08 > 0.01",
            at=NOW,
            rejected_version=CANDIDATE,
        )
        if rollback
        else None,
        url=f"http://fraud-detector.{NAMESPACE}.svc:8080",
    )


Mark = Callable[[list[Condition], str, str, int, datetime], list[Condition]]


def _idle(mark: Mark, reason: str, message: str) -> StatusOf:
    """No rollout going on: the stable version alone, in the state `mark` sets."""
    return lambda g: _mdep(mark([], reason, message, g, NOW), g, "Idle")


def _serving(generation: int) -> ObjectStatus:
    ready = mark_ready([], md.ROLLOUT_COMPLETE, f"serving {STABLE}", generation, NOW)
    return _mdep(ready, generation, "Idle")


def _rolled_back(generation: int) -> ObjectStatus:
    message = f"{CANDIDATE} was rolled back (errorRate 0.08 > 0.01); name another candidate"
    stalled = mark_stalled([], md.ROLLED_BACK, message, generation, NOW)
    return _mdep(stalled, generation, "RolledBack", candidate_weight=0, rollback=True)


def _rolling(reason: str, message: str, weight: int = 25) -> StatusOf:
    def status(generation: int) -> ObjectStatus:
        found = mark_reconciling([], reason, message, generation, NOW)
        return _mdep(found, generation, "Progressing", candidate_weight=weight)

    return status


def _paused(reason: str, message: str) -> StatusOf:
    """Paused by a failed analysis (`onFailure: pause`) or a DriftMonitor: Stalled, Paused."""

    def status(generation: int) -> ObjectStatus:
        found = mark_stalled([], reason, message, generation, NOW)
        return _mdep(found, generation, "Paused", candidate_weight=25)

    return status


def _dm(conditions: list[Condition], generation: int) -> ObjectStatus:
    return dm.DriftMonitorStatus(observed_generation=generation, conditions=conditions)


def _scheduled(generation: int) -> ObjectStatus:
    message = "evaluates the last 1h on schedule '5 * * * *' (UTC)"
    return _dm(mark_ready([], dm.SCHEDULED, message, generation, NOW), generation)


def _suspended(generation: int) -> ObjectStatus:
    message = "suspended: no evaluation is scheduled; the last results stay"
    return _dm(mark_ready([], dm.SUSPENDED, message, generation, NOW), generation)


def _drifted(generation: int) -> ObjectStatus:
    found = _scheduled(generation).conditions
    found = set_condition(
        found, dm.INSUFFICIENT_DATA, "False", dm.ENOUGH_SAMPLES, "1200 rows", generation, NOW
    )
    message = "3 of 4 features drifted (share 0.75 >= 0.5)"
    found = set_condition(
        found, dm.DRIFT_DETECTED, "True", dm.DATASET_DRIFT, message, generation, NOW
    )
    return _dm(found, generation)


def _simple(
    build: Callable[[list[Condition], int], ObjectStatus], mark: Mark, reason: str, message: str
) -> StatusOf:
    return lambda generation: build(mark([], reason, message, generation, NOW), generation)


def _ready_org(generation: int) -> ObjectStatus:
    message = f"namespace {NAMESPACE} ready"
    return _org(mark_ready([], org.NAMESPACE_READY, message, generation, NOW), generation)


NO_CANDIDATE: Manifest = {"candidate": None}
STATES: tuple[State, ...] = (
    # Organization ------------------------------------------------------------------------
    State("Organization", "new", None, "Progressing", "Current", "Waiting for the operator"),
    State(
        "Organization",
        "provisioning",
        _simple(_org, mark_reconciling, org.PROVISIONING, "creating the namespace"),
        "Progressing",
        "InProgress",
        org.PROVISIONING,
    ),
    State("Organization", "ready", _ready_org, "Healthy", "Current", org.NAMESPACE_READY),
    State(
        "Organization",
        "retrying",
        _simple(_org, mark_retrying, PROGRESSING_WITH_RETRY, "the API server is unavailable"),
        "Progressing",
        "InProgress",
        PROGRESSING_WITH_RETRY,
    ),
    State(
        "Organization",
        "namespace-conflict",
        _simple(_org, mark_stalled, org.NAMESPACE_CONFLICT, "namespace owned by someone else"),
        "Degraded",
        "Failed",
        org.NAMESPACE_CONFLICT,
    ),
    State(
        "Organization",
        "spec-changed",
        _ready_org,
        "Progressing",
        "InProgress",
        "generation 2",
        change={"displayName": "Acme Fraud and Risk"},
    ),
    # ModelVersion (its spec is immutable: the generation never moves on) ------------------
    State("ModelVersion", "new", None, "Progressing", "Current", "Waiting for the operator"),
    State(
        "ModelVersion",
        "verifying",
        lambda g: _mv(mark_reconciling([], mv.VERIFYING, "downloading", g, NOW), g),
        "Progressing",
        "InProgress",
        mv.VERIFYING,
    ),
    State("ModelVersion", "verified", _verified, "Healthy", "Current", mv.VERIFIED),
    State(
        "ModelVersion",
        "artifact-unreachable",
        _mv_problem(mv.ARTIFACT_UNREACHABLE, "s3: connection refused", stalled=False),
        "Progressing",
        "InProgress",
        PROGRESSING_WITH_RETRY,
    ),
    State(
        "ModelVersion",
        "digest-mismatch",
        _mv_problem(mv.DIGEST_MISMATCH, "sha256 of the artifact is 00ff…", stalled=True),
        "Degraded",
        "Failed",
        mv.DIGEST_MISMATCH,
    ),
    State(
        "ModelVersion",
        "signature-mismatch",
        _mv_problem(mv.SIGNATURE_MISMATCH, "input 'input': shape [-1, 5]", stalled=True),
        "Degraded",
        "Failed",
        mv.SIGNATURE_MISMATCH,
    ),
    # ModelDeployment ---------------------------------------------------------------------
    State("ModelDeployment", "new", None, "Progressing", "Current", "Waiting for the operator"),
    State(
        "ModelDeployment",
        "pods-not-ready",
        _idle(mark_reconciling, md.PODS_NOT_READY, f"waiting for pods of {STABLE}"),
        "Progressing",
        "InProgress",
        md.PODS_NOT_READY,
        spec=NO_CANDIDATE,
    ),
    State(
        "ModelDeployment",
        "model-version-not-ready",
        _idle(mark_reconciling, md.MODEL_VERSION_NOT_READY, f"ModelVersion {STABLE}"),
        "Progressing",
        "InProgress",
        md.MODEL_VERSION_NOT_READY,
        spec=NO_CANDIDATE,
    ),
    State(
        "ModelDeployment",
        "serving",
        _serving,
        "Healthy",
        "Current",
        md.ROLLOUT_COMPLETE,
        spec=NO_CANDIDATE,
    ),
    State(
        "ModelDeployment",
        "canary-progressing",
        _rolling(md.CANARY_PROGRESSING, f"rolling out {CANDIDATE}: step 3/7"),
        "Progressing",
        "InProgress",
        md.CANARY_PROGRESSING,
    ),
    State(
        "ModelDeployment",
        "canary-paused-by-hand",
        _rolling(md.CANARY_PAUSED, f"rollout of {CANDIDATE} paused by hand at step 2"),
        "Suspended",
        "InProgress",
        md.CANARY_PAUSED,
        spec={"paused": True},
    ),
    State(
        "ModelDeployment",
        "awaiting-promotion",
        _rolling(md.AWAITING_PROMOTION, "annotate modelplane.io/promote=true", weight=100),
        "Suspended",
        "InProgress",
        md.AWAITING_PROMOTION,
        spec={"promotion": "manual"},
    ),
    State(
        "ModelDeployment",
        "paused-after-failed-analysis",
        _paused(md.ANALYSIS_FAILED, f"rollout of {CANDIDATE} paused after failed analysis"),
        "Suspended",
        "Failed",
        md.ANALYSIS_FAILED,
        spec={"onFailure": "pause"},
    ),
    State(
        "ModelDeployment",
        "paused-for-drift",
        _paused(md.CANARY_PAUSED, f"rollout of {CANDIDATE} paused: dataset drift"),
        "Suspended",
        "Failed",
        md.CANARY_PAUSED,
    ),
    State("ModelDeployment", "rolled-back", _rolled_back, "Degraded", "Failed", md.ROLLED_BACK),
    State(
        "ModelDeployment",
        "new-candidate-after-rollback",
        _rolled_back,
        "Progressing",
        "InProgress",
        "generation 2",
        change={"candidate": {"modelVersionRef": {"name": "fraud-detector-v3"}}},
    ),
    State(
        "ModelDeployment",
        "invalid-spec",
        _idle(mark_stalled, INVALID_SPEC, "no such step"),
        "Degraded",
        "Failed",
        INVALID_SPEC,
    ),
    State(
        "ModelDeployment",
        "api-unavailable",
        _idle(mark_retrying, "ApiUnavailable", "connection refused"),
        "Progressing",
        "InProgress",
        PROGRESSING_WITH_RETRY,
        spec=NO_CANDIDATE,
    ),
    State(
        "ModelDeployment",
        "spec-changed",
        _serving,
        "Progressing",
        "InProgress",
        "generation 2",
        spec=NO_CANDIDATE,
        change={"scaling": {"maxReplicas": 8}},
    ),
    # DriftMonitor ------------------------------------------------------------------------
    State("DriftMonitor", "new", None, "Progressing", "Current", "Waiting for the operator"),
    State("DriftMonitor", "scheduled", _scheduled, "Healthy", "Current", dm.SCHEDULED),
    State(
        "DriftMonitor",
        "suspended",
        _suspended,
        "Suspended",
        "Current",
        dm.SUSPENDED,
        spec={"suspend": True},
    ),
    State(
        "DriftMonitor",
        "suspend-requested",
        _scheduled,
        "Progressing",
        "InProgress",
        "generation 2",
        change={"suspend": True},
    ),
    State("DriftMonitor", "drift-detected", _drifted, "Healthy", "Current", "drift detected"),
    State(
        "DriftMonitor",
        "deployment-not-found",
        _simple(_dm, mark_stalled, dm.DEPLOYMENT_NOT_FOUND, "ModelDeployment 'x' not found"),
        "Degraded",
        "Failed",
        dm.DEPLOYMENT_NOT_FOUND,
    ),
    State(
        "DriftMonitor",
        "suspended-without-deployment",
        _simple(_dm, mark_stalled, dm.DEPLOYMENT_NOT_FOUND, "ModelDeployment 'x' not found"),
        "Degraded",
        "Failed",
        dm.DEPLOYMENT_NOT_FOUND,
        spec={"suspend": True},
    ),
    State(
        "DriftMonitor",
        "payload-logging-off",
        _simple(_dm, mark_stalled, dm.PAYLOAD_LOGGING_OFF, "sampleRate is 0"),
        "Degraded",
        "Failed",
        dm.PAYLOAD_LOGGING_OFF,
    ),
    State(
        "DriftMonitor",
        "retrying",
        _simple(_dm, mark_retrying, PROGRESSING_WITH_RETRY, "the API server is unavailable"),
        "Progressing",
        "InProgress",
        PROGRESSING_WITH_RETRY,
    ),
)
