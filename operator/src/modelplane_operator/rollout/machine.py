"""The rollout state machine: spec + last status + observed facts → next status and a plan.

Pure and clock-free (`now` is a fact), so every transition is a unit test and an operator
restart is just another call with the status it left behind: everything the machine needs to
continue — current step, when it started, analysis counters, the served stable version, the
rollback record — lives in `status`, never in memory.

Rules it keeps, whatever the order of events:

- traffic never goes to a candidate whose pods are not Ready (its weight drops to 0 while they
  are not, and a `setWeight` step waits for them before it counts as done);
- stable pods are never scaled down before the candidate pods that replace them are Ready;
- promotion first scales the candidate to the full size, then makes it the stable version and
  retires the old one; the spec is never written (`status.stableVersion` says who serves);
- `onFailure: rollback` sends all traffic back, scales the candidate to 0, records reason, time
  and rejected version, and stays `RolledBack` until the spec names another candidate;
- a candidate changed mid-rollout restarts the rollout from step 0;
- a stable version changed in the spec (without a canary of it) is switched to once its pods
  are Ready, as a plain blue-green replacement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from modelplane_crds.conditions import (
    READY,
    derive_phase,
    mark_ready,
    mark_reconciling,
    mark_stalled,
    remove_condition,
    set_condition,
)
from modelplane_crds.model_deployment import (
    ANALYSIS_FAILED,
    ANALYSIS_PASSED,
    AWAITING_PROMOTION,
    CANARY_PAUSED,
    CANARY_PROGRESSING,
    CANDIDATE_HEALTHY,
    MODEL_VERSION_NOT_FOUND,
    MODEL_VERSION_NOT_READY,
    PODS_NOT_READY,
    ROLLED_BACK,
    ROLLOUT_COMPLETE,
    AnalysisStatus,
    AnalysisStep,
    CanaryStep,
    Measurement,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    RollbackRecord,
    Traffic,
)
from modelplane_operator.builders.model_deployment import (
    TrafficMode,
    endpoint_url,
    ratio_weight,
    replica_split,
    replicas_for_share,
)
from modelplane_operator.drift.monitor import parse_duration
from modelplane_operator.rollout.drift_pause import DriftPause

PROGRESSING = "Progressing"
SWITCHING = "SwitchingStable"
MAX_MEASUREMENTS = 100
WAIT_PODS_S = 5.0
"""How soon to look again while pods are starting."""

AnalysisOutcome = Literal["passed", "failed", "inconclusive"]


@dataclass(frozen=True)
class Verdict:
    """The result of one analysis interval (see `modelplane_operator.analysis`)."""

    outcome: AnalysisOutcome
    measurements: tuple[Measurement, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class Facts:
    """What the handler observed in this pass."""

    now: datetime
    generation: int
    mode: TrafficMode
    namespace: str
    name: str
    ready_replicas: Mapping[str, int] = field(default_factory=dict)
    """Ready pods per ModelVersion name (variants without a Deployment are absent)."""
    versions: Mapping[str, bool] = field(default_factory=dict)
    """ModelVersion name → whether it is Ready; absent means it does not exist."""
    promote: bool = False
    """`modelplane.io/promote=true` (or `modelplane.io/resume`) is on the object."""
    verdict: Verdict | None = None
    """Analysis result, when `analysis_due` said so and the handler ran the checks."""
    drift_pause: DriftPause | None = None
    """A DriftMonitor's request to pause (`modelplane.io/paused-by-drift`), if any."""


@dataclass(frozen=True)
class VariantPlan:
    """One ModelVersion to keep running, with its role and size."""

    version: str
    role: Literal["stable", "candidate"]
    replicas: int | None
    """Pods; None when an HPA sizes the variant (then `hpa_min`/`hpa_max` are set)."""
    hpa_min: int | None = None
    hpa_max: int | None = None


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event (and log line) to emit."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Held:
    """Why the rollout holds at a step."""

    reason: str
    message: str
    scale_weight: int | None = None
    """The weight the candidate is being scaled for (a setWeight waiting for pods)."""


@dataclass
class Plan:
    """What the handler writes: status, the variants to run, route weights, events."""

    status: ModelDeploymentStatus
    variants: list[VariantPlan]
    backends: list[tuple[str, int]]
    """HTTPRoute weights per version (HTTPRoute mode)."""
    events: list[Event]
    consume_promote: bool = False
    requeue_after: float | None = None
    shadow: str | None = None
    """The version the serving pods send shadow copies to (its `<name>-shadow` Service)."""


def effective_steps(spec: ModelDeploymentSpec) -> list[CanaryStep]:
    """The canary steps; without a canary, all traffic at once, then analysis if configured."""
    if spec.strategy is not None and spec.strategy.canary is not None:
        return list(spec.strategy.canary.steps)
    steps = [CanaryStep(set_weight=100)]
    if spec.analysis is not None:
        steps.append(CanaryStep(analysis=AnalysisStep(intervals=1)))
    return steps


def applied_weight(steps: list[CanaryStep], index: int) -> int:
    """The weight in force at step `index`: the last setWeight before it (weights only grow)."""
    weights = [s.set_weight for s in steps[:index] if s.set_weight is not None]
    return weights[-1] if weights else 0


@dataclass(frozen=True)
class Sizing:
    """Pods per variant: a base count and, with an HPA, its bounds."""

    base: int
    hpa_max: int | None

    @classmethod
    def of(cls, spec: ModelDeploymentSpec) -> Sizing:
        """Fixed replicas, or the HPA's minimum as the base; one pod by default."""
        scaling = spec.scaling
        if scaling is None:
            return cls(1, None)
        if scaling.max_replicas is not None:
            return cls(scaling.min_replicas or 1, scaling.max_replicas)
        return cls(1 if scaling.replicas is None else scaling.replicas, None)

    def full(self, version: str, role: Literal["stable", "candidate"]) -> VariantPlan:
        """A variant at full size."""
        if self.hpa_max is None:
            return VariantPlan(version, role, self.base)
        return VariantPlan(version, role, None, self.base, self.hpa_max)

    def candidate_pods(self, mode: TrafficMode, weight: int) -> int:
        """Candidate pods needed to carry `weight` percent."""
        if mode == "HTTPRoute":
            return replicas_for_share(self.base, weight)
        return replica_split(self.base, weight)[1]

    def canary_pair(
        self,
        mode: TrafficMode,
        weight: int,
        stable: str,
        candidate: str,
        candidate_ready: int,
    ) -> tuple[VariantPlan, VariantPlan]:
        """Stable and candidate sized for `weight`; stable shrinks only by ready candidates."""
        if mode == "HTTPRoute":
            cand = self.candidate_pods(mode, weight)
            return self.full(stable, "stable"), self._scaled(candidate, "candidate", cand, weight)
        split_stable, split_cand = replica_split(self.base, weight)
        keep = max(split_stable, self.base - min(candidate_ready, split_cand))
        return (
            self._scaled(stable, "stable", keep, 100 - weight),
            self._scaled(candidate, "candidate", split_cand, weight),
        )

    def _scaled(
        self, version: str, role: Literal["stable", "candidate"], pods: int, share: int
    ) -> VariantPlan:
        if self.hpa_max is None or pods == 0:
            return VariantPlan(version, role, pods)
        top = max(pods, replicas_for_share(self.hpa_max, share))
        return VariantPlan(version, role, None, pods, top)


def analysis_due(
    spec: ModelDeploymentSpec, status: ModelDeploymentStatus | None, now: datetime
) -> bool:
    """Whether the handler should run the analysis checks in this pass."""
    if spec.analysis is None or status is None or status.rollout_state != "Progressing":
        return False
    if spec.paused:
        return False
    if spec.candidate is None or status.candidate_version != spec.candidate.model_version_ref.name:
        return False
    steps = effective_steps(spec)
    step = status.current_step or 0
    at_analysis = step < len(steps) and steps[step].analysis is not None
    traffic = (status.traffic.candidate + status.traffic.mirror) if status.traffic else 0
    if traffic <= 0 and not at_analysis:
        return False
    last = status.analysis.last_run_at if status.analysis else None
    return last is None or now - last >= parse_duration(spec.analysis.interval)


def _next_analysis_s(
    spec: ModelDeploymentSpec, status: ModelDeploymentStatus, now: datetime
) -> float | None:
    if spec.analysis is None:
        return None
    interval = parse_duration(spec.analysis.interval)
    last = status.analysis.last_run_at if status.analysis else None
    if last is None:
        return 0.0
    return max(0.0, (last + interval - now).total_seconds())


def _pods(variant: VariantPlan) -> int:
    return variant.replicas if variant.replicas is not None else variant.hpa_min or 0


def _min(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


class _Pass:
    """One evaluation; collects events and status changes."""

    def __init__(
        self, spec: ModelDeploymentSpec, status: ModelDeploymentStatus | None, facts: Facts
    ) -> None:
        self.spec = spec
        self.facts = facts
        self.st = status.model_copy(deep=True) if status is not None else ModelDeploymentStatus()
        self.events: list[Event] = []
        self.sizing = Sizing.of(spec)
        self.consume = False
        self.promote_left = facts.promote
        self.requeue: float | None = None

    # helpers -----------------------------------------------------------------------------
    def event(self, type_: Literal["Normal", "Warning"], reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, message))

    def ready(self, version: str) -> int:
        return self.facts.ready_replicas.get(version, 0)

    def conditions(self, kind: str, reason: str, message: str) -> None:
        f, st = self.facts, self.st
        if kind == "ready":
            st.conditions = mark_ready(st.conditions, reason, message, f.generation, f.now)
        elif kind == "reconciling":
            st.conditions = mark_reconciling(st.conditions, reason, message, f.generation, f.now)
        else:
            st.conditions = mark_stalled(st.conditions, reason, message, f.generation, f.now)

    def healthy(self, status: Literal["True", "False", "Unknown"], reason: str, msg: str) -> None:
        f = self.facts
        self.st.conditions = set_condition(
            self.st.conditions, CANDIDATE_HEALTHY, status, reason, msg, f.generation, f.now
        )

    def version_problem(self, version: str) -> str | None:
        if version not in self.facts.versions:
            return MODEL_VERSION_NOT_FOUND
        if not self.facts.versions[version]:
            return MODEL_VERSION_NOT_READY
        return None

    def finish(self, variants: list[VariantPlan], backends: list[tuple[str, int]]) -> Plan:
        f, st = self.facts, self.st
        st.observed_generation = f.generation
        st.traffic_mode = f.mode
        st.url = endpoint_url(f.name, f.namespace)
        st.phase = derive_phase(st.conditions, f.generation)
        return Plan(st, variants, backends, self.events, self.consume, self.requeue)

    # the pass ----------------------------------------------------------------------------
    def run(self) -> Plan:
        spec, st = self.spec, self.st
        desired_stable = spec.stable.model_version_ref.name
        candidate = spec.candidate.model_version_ref.name if spec.candidate else None
        if st.stable_version is None:
            st.stable_version = desired_stable
            st.rollout_state = "Idle"
            st.traffic = Traffic(stable=100, candidate=0)
        if st.stable_version not in (desired_stable, candidate):
            return self.switch_stable(desired_stable)
        if candidate is None or candidate == st.stable_version:
            self.consume = self.facts.promote  # nothing to promote: drop a leftover annotation
            return self.idle(aborted=st.candidate_version)
        return self.rollout(candidate)

    def idle(self, aborted: str | None) -> Plan:
        st, stable = self.st, self.st.stable_version
        assert stable is not None
        if aborted is not None:
            self.event(
                "Normal",
                "RolloutAborted",
                f"candidate {aborted} removed from the spec; all traffic to {stable}",
            )
        st.rollout_state = "Idle"
        st.candidate_version = None
        st.current_step = None
        st.step_started_at = None
        st.traffic = Traffic(stable=100, candidate=0)
        st.conditions = remove_condition(st.conditions, CANDIDATE_HEALTHY)
        return self.serve_stable_only(stable)

    def serve_stable_only(self, stable: str) -> Plan:
        plan = self.sizing.full(stable, "stable")
        problem = self.version_problem(stable)
        need = max(1, plan.replicas if plan.replicas is not None else plan.hpa_min or 1)
        if plan.replicas == 0:
            self.conditions("ready", ROLLOUT_COMPLETE, f"{stable} scaled to 0 replicas")
        elif problem is not None and stable not in self.facts.ready_replicas:
            self.conditions("reconciling", problem, f"ModelVersion {stable}: {problem}")
            self.requeue = WAIT_PODS_S
        elif self.ready(stable) >= need:
            self.conditions("ready", ROLLOUT_COMPLETE, f"serving {stable}")
        else:
            self.conditions(
                "reconciling",
                PODS_NOT_READY,
                f"waiting for pods of {stable}: {self.ready(stable)}/{need} ready",
            )
            self.requeue = WAIT_PODS_S
        return self.finish([plan], [(stable, 100)])

    def switch_stable(self, target: str) -> Plan:
        st = self.st
        old = st.stable_version
        assert old is not None
        if st.candidate_version is not None:
            self.event(
                "Normal",
                "RolloutAborted",
                f"stable changed to {target}: rollout of {st.candidate_version} abandoned",
            )
        st.candidate_version = None
        st.current_step = None
        st.step_started_at = None
        st.rollout_state = "Idle"
        st.traffic = Traffic(stable=100, candidate=0)
        st.conditions = remove_condition(st.conditions, CANDIDATE_HEALTHY)
        current = self.sizing.full(old, "stable")
        problem = self.version_problem(target)
        if problem is not None:
            self.conditions("reconciling", problem, f"ModelVersion {target}: {problem}")
            self.requeue = WAIT_PODS_S
            return self.finish([current], [(old, 100)])
        incoming = self.sizing.full(target, "candidate")
        need = max(1, incoming.replicas if incoming.replicas is not None else incoming.hpa_min or 1)
        if incoming.replicas == 0 or self.ready(target) >= need:
            st.stable_version = target
            self.event("Normal", "StableSwitched", f"stable switched from {old} to {target}")
            return self.serve_stable_only(target)
        self.conditions(
            "reconciling",
            SWITCHING,
            f"switching stable from {old} to {target}: {self.ready(target)}/{need} pods ready",
        )
        self.requeue = WAIT_PODS_S
        return self.finish([current, incoming], [(old, 100), (target, 0)])

    def rollout(self, candidate: str) -> Plan:
        st, f = self.st, self.facts
        stable = st.stable_version
        assert stable is not None
        if (
            st.rollout_state == "RolledBack"
            and st.rollback is not None
            and st.rollback.rejected_version == candidate
        ):
            # Promotion cannot revive a rejected candidate (only a new one can): drop the
            # annotation, or it would keep the deployment from ever settling.
            self.consume = f.promote
            return self.rolled_back(stable, candidate)
        if st.candidate_version != candidate:
            self.start(candidate)
        problem = self.version_problem(candidate)
        if problem is not None:
            st.traffic = Traffic(stable=100, candidate=0)
            self.conditions("reconciling", problem, f"ModelVersion {candidate}: {problem}")
            self.requeue = WAIT_PODS_S
            return self.finish([self.sizing.full(stable, "stable")], [(stable, 100)])
        if self.spec.paused:
            return self.paused_by_hand(stable, candidate)
        held = self.held(stable, candidate)
        if held is not None:
            return held
        if f.verdict is not None and self.judge(candidate, f.verdict):
            return self.fail(stable, candidate, f.verdict)
        return self.walk(stable, candidate)

    def start(self, candidate: str) -> None:
        st, f = self.st, self.facts
        if st.candidate_version is not None:
            self.event(
                "Normal",
                "CandidateChanged",
                f"candidate changed from {st.candidate_version} to {candidate}: restarting at"
                " step 0",
            )
        else:
            self.event(
                "Normal", "RolloutStarted", f"rolling out {candidate} over {st.stable_version}"
            )
        st.candidate_version = candidate
        st.rollout_state = "Progressing"
        st.current_step = 0
        st.step_started_at = f.now
        st.analysis = AnalysisStatus(last_run_at=f.now)
        st.traffic = Traffic(stable=100, candidate=0)
        self.healthy("Unknown", CANARY_PROGRESSING, "not judged yet")

    def judge(self, candidate: str, verdict: Verdict) -> bool:
        """Record one analysis interval; True when the failure limit is reached."""
        st, f = self.st, self.facts
        analysis = st.analysis or AnalysisStatus()
        measurements = [*analysis.measurements, *verdict.measurements][-MAX_MEASUREMENTS:]
        analysis = analysis.model_copy(update={"measurements": measurements, "last_run_at": f.now})
        summary = "; ".join(
            f"{m.check}={m.value:.4g} ({'min' if m.check == 'shadowAgreement' else 'max'}"
            f" {m.threshold:.4g}, {m.samples} samples)"
            for m in verdict.measurements
        )
        if verdict.outcome == "passed":
            analysis.passed_intervals += 1
            self.healthy("True", ANALYSIS_PASSED, summary or "passed")
            self.event("Normal", ANALYSIS_PASSED, f"{candidate}: {summary}")
        elif verdict.outcome == "failed":
            analysis.failed_intervals += 1
            analysis.passed_intervals = 0
            self.healthy("False", ANALYSIS_FAILED, verdict.message or summary)
            self.event(
                "Warning",
                ANALYSIS_FAILED,
                f"{candidate}: {verdict.message or summary}"
                f" ({analysis.failed_intervals} failed intervals)",
            )
        else:
            self.event(
                "Normal",
                "AnalysisInconclusive",
                f"{candidate}: {verdict.message or 'too few samples'}",
            )
        st.analysis = analysis
        limit = self.spec.analysis.failure_limit if self.spec.analysis else 1
        return verdict.outcome == "failed" and analysis.failed_intervals >= limit

    def fail(self, stable: str, candidate: str, verdict: Verdict) -> Plan:
        st, f = self.st, self.facts
        message = verdict.message or "analysis failed"
        if self.spec.on_failure == "pause":
            st.rollout_state = "Paused"
            self.event(
                "Warning",
                CANARY_PAUSED,
                f"rollout of {candidate} paused: {message}; annotate"
                " modelplane.io/promote=true to continue",
            )
            return self.paused(stable, candidate)
        st.rollback = RollbackRecord(
            reason=ANALYSIS_FAILED, message=message, at=f.now, rejected_version=candidate
        )
        st.rollout_state = "RolledBack"
        self.event(
            "Warning", ROLLED_BACK, f"{candidate} rolled back, all traffic to {stable}: {message}"
        )
        return self.rolled_back(stable, candidate)

    def rolled_back(self, stable: str, candidate: str) -> Plan:
        st = self.st
        st.candidate_version = None
        st.current_step = None
        st.step_started_at = None
        st.traffic = Traffic(stable=100, candidate=0)
        reason = st.rollback.message if st.rollback else ""
        self.healthy("False", ROLLED_BACK, reason)
        self.conditions(
            "stalled",
            ROLLED_BACK,
            f"{candidate} was rolled back ({reason}); name another candidate to roll out again",
        )
        variants = [self.sizing.full(stable, "stable"), VariantPlan(candidate, "candidate", 0)]
        return self.finish(variants, [(stable, 100), (candidate, 0)])

    def paused_by_hand(self, stable: str, candidate: str) -> Plan:
        """`spec.paused`: the step, the analysis and the traffic split stay as they are."""
        st = self.st
        weight = st.traffic.candidate if st.traffic else 0
        ready = self.ready(candidate) >= self.sizing.candidate_pods(self.facts.mode, weight)
        self.conditions(
            "reconciling",
            CANARY_PAUSED,
            f"rollout of {candidate} paused by hand at step {st.current_step or 0} with {weight}%"
            " traffic; set spec.paused to false to continue",
        )
        return self.hold(stable, candidate, weight, ready)

    def held(self, stable: str, candidate: str) -> Plan | None:
        """Paused (failed analysis, or a DriftMonitor's request) until a person resumes; None
        to go on."""
        st, f = self.st, self.facts
        if st.rollout_state == "Paused":
            if not f.promote:
                return self.paused(stable, candidate)
            self.consume = True
            st.rollout_state = "Progressing"
            st.analysis = AnalysisStatus(last_run_at=f.now)
            self.event("Normal", "Resumed", f"rollout of {candidate} resumed by promotion")
            return None
        if self.drift_pause(candidate) is not None and not f.promote:
            return self.pause_for_drift(stable, candidate)
        return None

    def drift_pause(self, candidate: str) -> DriftPause | None:
        """The DriftMonitor's pause request, when it is about this candidate."""
        pause = self.facts.drift_pause
        return pause if pause is not None and pause.candidate == candidate else None

    def pause_for_drift(self, stable: str, candidate: str) -> Plan:
        """A DriftMonitor found dataset drift: hold as `onFailure: pause` does."""
        self.st.rollout_state = "Paused"
        pause = self.drift_pause(candidate)
        assert pause is not None
        self.event(
            "Warning",
            CANARY_PAUSED,
            f"rollout of {candidate} paused: {pause.reason()}; annotate modelplane.io/resume"
            " to continue",
        )
        return self.paused(stable, candidate)

    def paused(self, stable: str, candidate: str) -> Plan:
        st = self.st
        weight = st.traffic.candidate if st.traffic else 0
        weight = weight if self.ready(candidate) > 0 else 0
        pause = self.drift_pause(candidate)
        if pause is not None:
            self.conditions(
                "stalled",
                CANARY_PAUSED,
                f"rollout of {candidate} paused at {weight}% traffic: {pause.reason()};"
                " annotate modelplane.io/resume to continue or change the candidate",
            )
        else:
            self.conditions(
                "stalled",
                ANALYSIS_FAILED,
                f"rollout of {candidate} paused after failed analysis at {weight}% traffic;"
                " annotate modelplane.io/promote=true to continue or change the candidate",
            )
        return self.hold(stable, candidate, weight, self.ready(candidate) > 0)

    def walk(self, stable: str, candidate: str) -> Plan:
        st, f, spec = self.st, self.facts, self.spec
        steps = effective_steps(spec)
        self.promote_left = f.promote
        held: Held | None = None
        for _ in range(len(steps) + 1):
            index = st.current_step or 0
            if index >= len(steps):
                break
            held = self.try_step(steps[index], f"step {index + 1}/{len(steps)}", candidate)
            if held is not None:
                break
        index = st.current_step or 0
        if index >= len(steps) or held is None:
            return self.promotion(stable, candidate, self.promote_left)
        weight = applied_weight(steps, index)
        reason, message = held.reason, held.message
        if held.scale_weight is None and self.ready(candidate) < self.sizing.candidate_pods(
            f.mode, weight
        ):
            reason, message = PODS_NOT_READY, f"{message}; candidate pods not Ready"
        measured = weight > 0 or self.shadowed(candidate, stable)
        self.requeue = _min(self.requeue, _next_analysis_s(spec, st, f.now) if measured else None)
        return self.progress(
            stable, candidate, weight, reason, message, scale_weight=held.scale_weight
        )

    def take_promotion(self) -> bool:
        """Use the promotion annotation once (it ends one pause or analysis step)."""
        if not self.promote_left:
            return False
        self.promote_left, self.consume = False, True
        return True

    def try_step(self, step: CanaryStep, label: str, candidate: str) -> Held | None:
        """Complete the step if its condition holds (None), or say why the rollout holds."""
        if step.set_weight is not None:
            return self.weight_step(step.set_weight, label, candidate)
        if step.pause is not None:
            return self.pause_step(step.pause.duration, label)
        return self.analysis_step(step.analysis.intervals if step.analysis else 1, label)

    def weight_step(self, weight: int, label: str, candidate: str) -> Held | None:
        """Done once the candidate has the Ready pods to carry `weight`."""
        need = self.sizing.candidate_pods(self.facts.mode, weight)
        if self.ready(candidate) < need:
            self.requeue = WAIT_PODS_S
            return Held(
                PODS_NOT_READY,
                f"{label}: setWeight {weight} waits for candidate pods"
                f" ({self.ready(candidate)}/{need} ready)",
                weight,
            )
        self.advance(f"{label}: weight {weight}% to {candidate}")
        return None

    def pause_step(self, duration: str | None, label: str) -> Held | None:
        """Done when the duration is over or a promotion says so."""
        st, f = self.st, self.facts
        if self.take_promotion():
            self.advance(f"{label}: pause ended by promotion")
            return None
        if duration is None:
            return Held(CANARY_PAUSED, f"{label}: paused until modelplane.io/promote=true")
        until = (st.step_started_at or f.now) + parse_duration(duration)
        if f.now >= until:
            self.advance(f"{label}: pause of {duration} over")
            return None
        self.requeue = (until - f.now).total_seconds()
        return Held(CANARY_PAUSED, f"{label}: paused for {duration}")

    def analysis_step(self, intervals: int, label: str) -> Held | None:
        """Done after `intervals` consecutive passing analysis intervals (or a promotion)."""
        st, f = self.st, self.facts
        passed = st.analysis.passed_intervals if st.analysis else 0
        if passed >= intervals:
            self.advance(f"{label}: analysis passed {passed} intervals")
            return None
        if self.take_promotion():
            self.advance(f"{label}: analysis skipped by promotion")
            return None
        self.requeue = _next_analysis_s(self.spec, st, f.now)
        return Held(CANARY_PROGRESSING, f"{label}: analysis {passed}/{intervals} intervals passed")

    def advance(self, message: str) -> None:
        st = self.st
        st.current_step = (st.current_step or 0) + 1
        st.step_started_at = self.facts.now
        if st.analysis is not None:
            st.analysis.passed_intervals = 0
        self.event("Normal", "StepCompleted", message)

    def progress(
        self,
        stable: str,
        candidate: str,
        weight: int,
        reason: str,
        message: str,
        scale_weight: int | None = None,
    ) -> Plan:
        """Hold at `weight` (the traffic only flows if the candidate's pods are Ready)."""
        self.conditions("reconciling", reason, f"rolling out {candidate}: {message}")
        ready = self.ready(candidate) >= self.sizing.candidate_pods(self.facts.mode, weight)
        return self.hold(stable, candidate, weight, ready, scale_weight=scale_weight)

    def hold(
        self,
        stable: str,
        candidate: str,
        weight: int,
        ready: bool,
        scale_weight: int | None = None,
    ) -> Plan:
        st, f = self.st, self.facts
        before = st.traffic.candidate if st.traffic else 0
        target = max(weight, scale_weight if scale_weight is not None else weight)
        pair = self.sizing.canary_pair(f.mode, target, stable, candidate, self.ready(candidate))
        shadow = self.shadowed(candidate, stable)
        if shadow and _pods(pair[1]) == 0:  # a pod to answer the copies, outside the endpoint
            pair = (pair[0], VariantPlan(candidate, "candidate", 1))
        if f.mode == "HTTPRoute":
            effective = weight if ready else 0
        elif target == 0:
            effective = 0
        else:
            # Behind one Service, traffic follows the Ready pods (unready pods get none).
            effective = ratio_weight(self.ready(stable), min(self.ready(candidate), _pods(pair[1])))
        if before > 0 and effective == 0 and weight > 0:
            self.event(
                "Warning",
                PODS_NOT_READY,
                f"candidate {candidate} pods not Ready: its traffic is 0 until they are",
            )
        mirror = self.shadow_percent(candidate, stable)
        st.traffic = Traffic(stable=100 - effective, candidate=effective, mirror=mirror)
        plan = self.finish(list(pair), [(stable, 100 - effective), (candidate, effective)])
        plan.shadow = candidate if shadow else None
        return plan

    def shadowed(self, candidate: str, stable: str) -> bool:
        """Whether the serving pods copy requests to this candidate (`strategy.shadow`)."""
        strategy = self.spec.strategy
        return strategy is not None and strategy.shadow is not None and stable != candidate

    def shadow_percent(self, candidate: str, stable: str) -> int:
        """Share of the stable version's requests copied to the candidate (once it has a
        Ready pod to answer them)."""
        strategy = self.spec.strategy
        shadow = strategy.shadow if strategy is not None else None
        if shadow is None or stable == candidate or self.ready(candidate) < 1:
            return 0
        return shadow.percent

    def promotion(self, stable: str, candidate: str, promote: bool) -> Plan:
        st, f, spec = self.st, self.facts, self.spec
        steps = effective_steps(spec)
        weight = applied_weight(steps, len(steps))
        if spec.promotion == "manual" and not promote:
            self.conditions(
                "reconciling",
                AWAITING_PROMOTION,
                f"{candidate} passed every step; annotate modelplane.io/promote=true",
            )
            ready = self.ready(candidate) >= self.sizing.candidate_pods(f.mode, weight)
            return self.hold(stable, candidate, weight, ready)
        full = self.sizing.full(candidate, "candidate")
        need = max(1, full.replicas if full.replicas is not None else full.hpa_min or 1)
        if full.replicas != 0 and self.ready(candidate) < need:
            self.conditions(
                "reconciling",
                PODS_NOT_READY,
                f"promoting {candidate}: scaling it to full size ({self.ready(candidate)}/{need}"
                " pods ready)",
            )
            self.requeue = WAIT_PODS_S
            ready = self.ready(candidate) >= self.sizing.candidate_pods(f.mode, weight)
            return self.hold(stable, candidate, weight, ready, scale_weight=100)
        self.consume = self.consume or promote
        st.stable_version = candidate
        st.candidate_version = None
        st.rollout_state = "Idle"
        st.current_step = None
        st.step_started_at = None
        st.traffic = Traffic(stable=100, candidate=0)
        st.conditions = remove_condition(st.conditions, CANDIDATE_HEALTHY)
        self.event("Normal", "Promoted", f"{candidate} promoted to stable; {stable} retired")
        self.conditions("ready", ROLLOUT_COMPLETE, f"serving {candidate} (promoted from canary)")
        return self.finish([self.sizing.full(candidate, "stable")], [(candidate, 100)])


def plan(spec: ModelDeploymentSpec, status: ModelDeploymentStatus | None, facts: Facts) -> Plan:
    """The next status, variants, route weights and events for one reconcile pass."""
    result = _Pass(spec, status, facts).run()
    if not any(c.type == READY for c in result.status.conditions):  # pragma: no cover - guard
        raise AssertionError("every pass sets Ready")
    return result


def elapsed(since: datetime | None, now: datetime) -> timedelta:
    """Time since `since` (zero when unknown)."""
    return timedelta(0) if since is None else now - since
