"""One reconcile pass of a ModelDeployment: observe, decide (pure), converge, report.

Called by the kopf handler in a worker thread with the cluster gateway. It reads the referenced
ModelVersions and the variant Deployments, runs the analysis when it is due, asks the state
machine (`rollout.machine.plan`) what to do, builds every child the plan wants
(`builders.model_deployment.build_children`), applies them by server-side apply, deletes the
children no longer wanted, posts the plan's Events, and returns the status patch. Applies
are skipped when the manifest is the one applied last time (a hash per child, kept in memory and
cleared at every resync), so a settled deployment costs few API calls.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Any

from pydantic import ValidationError

from modelplane_crds.conditions import INVALID_SPEC, mark_stalled
from modelplane_crds.drift_results import DriftTestName
from modelplane_crds.kinds import MODEL_DEPLOYMENT, MODEL_VERSION
from modelplane_crds.model_deployment import (
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    ShadowStatus,
)
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_operator.analysis.checks import DriftMeasure, MetricsSource, judge
from modelplane_operator.analysis.drift import PredictionDrift
from modelplane_operator.analysis.prometheus import PrometheusClient, PrometheusSource
from modelplane_operator.analysis.scrape import ScrapeSource
from modelplane_operator.analysis.sources import SourceError
from modelplane_operator.analysis.targets import Target
from modelplane_operator.builders import model_deployment as builders
from modelplane_operator.cluster import HTTPROUTE_CRD, Cluster, ClusterError
from modelplane_operator.drift.monitor import parse_duration
from modelplane_operator.metrics import RolloutMetrics
from modelplane_operator.rollout.drift_pause import DRIFT_PAUSE, DriftPause
from modelplane_operator.rollout.machine import Facts, Plan, Verdict, analysis_due, plan
from modelplane_operator.settings import Settings

log = logging.getLogger("modelplane.rollout")

PROMOTE = "modelplane.io/promote"
RESUME = "modelplane.io/resume"
CHILD_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
)
DISCOVERY_TTL_S = 300.0


@dataclass
class RolloutContext:
    """Long-lived state of the ModelDeployment handler (kept in kopf's memo)."""

    settings: Settings
    runtime: builders.RuntimeConfig
    metrics: RolloutMetrics
    scrape: ScrapeSource = field(default_factory=ScrapeSource)
    drift: PredictionDrift = field(default_factory=PredictionDrift)
    prometheus: PrometheusClient | None = None
    applied: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(deployment uid, kind, name) → hash of the manifest last applied."""
    last_full: dict[str, float] = field(default_factory=dict)
    """deployment uid → monotonic time of the last full pass."""
    _mode: tuple[float, builders.TrafficMode] | None = None
    _clients: dict[str, PrometheusClient] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def traffic_mode(self, cluster: Cluster) -> builders.TrafficMode:
        """HTTPRoute when configured so or when the Gateway API CRDs exist (cached)."""
        if self.settings.traffic_mode != "auto":
            return self.settings.traffic_mode
        now = time.monotonic()
        if self._mode is not None and now - self._mode[0] < DISCOVERY_TTL_S:
            return self._mode[1]
        try:
            crd = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", HTTPROUTE_CRD)
        except ClusterError as exc:
            if exc.transient:
                raise
            log.warning("cannot read the HTTPRoute CRD (%s): using replica ratios", exc)
            crd = None
        mode: builders.TrafficMode = "HTTPRoute" if crd is not None else "ReplicaRatio"
        self._mode = (now, mode)
        return mode

    def prometheus_client(self, address: str | None) -> PrometheusClient:
        """A client for `address`, or the operator's configured Prometheus."""
        url = address or self.settings.prometheus_url
        if url is None:
            raise SourceError(
                "no Prometheus configured (set prometheus_url or the check's address)"
            )
        with self._lock:
            if url not in self._clients:
                self._clients[url] = PrometheusClient(url)
            return self._clients[url]

    def source(self) -> MetricsSource:
        """Where variant metrics come from."""
        choice = self.settings.analysis_source
        if choice == "prometheus" or (choice == "auto" and self.settings.prometheus_url):
            return PrometheusSource(
                self.prometheus_client(None), self.settings.prometheus_namespace_label
            )
        return self.scrape

    def forget(self, uid: str, namespace: str, name: str) -> None:
        """A deployment is gone: drop what is remembered about it."""
        with self._lock:
            for key in [k for k in self.applied if k[0] == uid]:
                del self.applied[key]
            self.last_full.pop(uid, None)
        self.scrape.forget(namespace, name)
        self.metrics.forget(namespace, name)


@dataclass
class PassResult:
    """What the handler writes back through kopf's patch."""

    status: dict[str, Any]
    consume_promote: bool = False
    plan: Plan | None = None


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning `old` into `new` (removed keys become null)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            inner = merge_patch(before, value)
            if inner:
                patch[key] = inner
        elif before != value:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def settled(body: Mapping[str, Any]) -> bool:
    """Nothing can be due: no rollout, Ready for this generation, no promotion asked."""
    status = body.get("status") or {}
    meta = body.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if PROMOTE in annotations or RESUME in annotations:
        return False
    if status.get("observedGeneration") != meta.get("generation"):
        return False
    if status.get("rolloutState") not in ("Idle", "RolledBack"):
        return False
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready") or {}
    stalled = conditions.get("Stalled") or {}
    return ready.get("status") == "True" or stalled.get("reason") in ("RolledBack", INVALID_SPEC)


def _owned(obj: Mapping[str, Any], uid: str) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("uid") == uid and r.get("controller") for r in refs)


def _ready_pods(deployment: Mapping[str, Any]) -> int:
    status = deployment.get("status") or {}
    ready = int(status.get("readyReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    return min(ready, updated)


class Pass:
    """One reconcile pass over one ModelDeployment."""

    def __init__(
        self, cluster: Cluster, ctx: RolloutContext, body: Mapping[str, Any], now: datetime
    ) -> None:
        self.cluster, self.ctx, self.body, self.now = cluster, ctx, body, now
        meta = body["metadata"]
        self.name: str = meta["name"]
        self.namespace: str = meta["namespace"]
        self.uid: str = meta["uid"]
        self.generation = int(meta.get("generation") or 1)
        self.owner = {
            "apiVersion": body.get("apiVersion", MODEL_DEPLOYMENT.api_version),
            "kind": body.get("kind", MODEL_DEPLOYMENT.kind),
            "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid},
        }
        self.selector = f"{builders.DEPLOYMENT_LABEL}={builders.label_value(self.name)}"
        self._targets: dict[str, Target | None] = {}

    # observe ------------------------------------------------------------------------------
    def versions(self, names: set[str]) -> tuple[dict[str, bool], dict[str, ModelVersionSpec]]:
        ready: dict[str, bool] = {}
        specs: dict[str, ModelVersionSpec] = {}
        for name in sorted(names):
            obj = self.cluster.get(
                MODEL_VERSION.api_version, MODEL_VERSION.kind, name, self.namespace
            )
            if obj is None:
                continue
            try:
                specs[name] = ModelVersionSpec.model_validate(obj.get("spec") or {})
            except ValidationError:
                ready[name] = False
                continue
            conditions = (obj.get("status") or {}).get("conditions") or []
            ready[name] = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
            )
        return ready, specs

    def children(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for api_version, kind in CHILD_KINDS:
            if kind == "HTTPRoute" and self.mode != "HTTPRoute":
                continue
            items = self.cluster.list(api_version, kind, self.namespace, self.selector)
            found[(api_version, kind)] = [o for o in items if _owned(o, self.uid)]
        return found

    def ready_replicas(self, deployments: list[dict[str, Any]], names: set[str]) -> dict[str, int]:
        by_label = {builders.label_value(n): n for n in names}
        ready: dict[str, int] = {}
        for deployment in deployments:
            labels = (deployment.get("metadata") or {}).get("labels") or {}
            version = by_label.get(labels.get(builders.VERSION_LABEL, ""))
            if version is not None:
                ready[version] = _ready_pods(deployment)
        return ready

    def target(self, version: str, specs: Mapping[str, ModelVersionSpec]) -> Target | None:
        """The variant as the metrics sources see it; its pods are listed once per pass."""
        if version not in self._targets:
            self._targets[version] = self._target(version, specs)
        return self._targets[version]

    def _target(self, version: str, specs: Mapping[str, ModelVersionSpec]) -> Target | None:
        spec = specs.get(version)
        if spec is None:
            return None
        endpoints: tuple[str, ...] = ()
        if not isinstance(self.ctx.source(), PrometheusSource):
            pods = self.cluster.list(
                "v1",
                "Pod",
                self.namespace,
                ",".join(f"{k}={v}" for k, v in builders.pod_labels(self.name, version).items()),
            )
            endpoints = tuple(
                f"http://{pod['status']['podIP']}:{builders.PORT}"
                for pod in pods
                if (pod.get("status") or {}).get("podIP")
                and any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (pod.get("status") or {}).get("conditions") or []
                )
            )
        return Target(
            self.namespace,
            self.name,
            version,
            spec.model_name,
            spec.version,
            builders.variant_name(self.name, version),
            endpoints,
        )

    def analyse(
        self,
        spec: ModelDeploymentSpec,
        status: ModelDeploymentStatus | None,
        specs: Mapping[str, ModelVersionSpec],
    ) -> Verdict | None:
        if spec.analysis is None or not analysis_due(spec, status, self.now):
            return None
        assert status is not None
        assert status.candidate_version is not None
        candidate = self.target(status.candidate_version, specs)
        stable = self.target(status.stable_version, specs) if status.stable_version else None
        if candidate is None:
            return Verdict("inconclusive", (), "candidate ModelVersion not readable")
        window = parse_duration(spec.analysis.interval).total_seconds()
        return judge(
            spec.analysis,
            self.ctx.source(),
            candidate,
            stable,
            window,
            self.now,
            prometheus=self.ctx.prometheus_client,
            drift=self.drift_measure(spec),
        )

    def shadow(
        self,
        spec: ModelDeploymentSpec,
        status: ModelDeploymentStatus | None,
        specs: Mapping[str, ModelVersionSpec],
    ) -> ShadowStatus | None:
        """The candidate's agreement on shadow copies so far, from the stable pods (None when
        there is no shadow to read, or it cannot be read now: the last reading stays)."""
        if spec.strategy is None or spec.strategy.shadow is None or status is None:
            return None
        if status.rollout_state not in ("Progressing", "Paused"):
            return None
        if status.candidate_version is None or status.stable_version is None:
            return None
        candidate = self.target(status.candidate_version, specs)
        stable = self.target(status.stable_version, specs)
        if candidate is None or stable is None:
            return None
        try:
            counts = self.ctx.source().shadow_total(stable, candidate)
        except SourceError as exc:
            log.debug("%s/%s: shadow counts not read: %s", self.namespace, self.name, exc)
            return None
        rate = counts.agreement_rate
        return ShadowStatus(
            version=status.candidate_version,
            comparisons=round(counts.comparisons),
            agreed=round(counts.agreed),
            errors=round(counts.errors),
            agreement_rate=None if rate is None else round(rate, 6),
            at=self.now,
        )

    def drift_measure(self, spec: ModelDeploymentSpec) -> DriftMeasure:
        """Prediction drift from the payload logs of this deployment's bucket."""
        logging_ = spec.payload_logging
        bucket = self.ctx.settings.payload_bucket
        if logging_ is not None and logging_.uri is not None:
            bucket = logging_.uri.removeprefix("s3://").split("/", 1)[0]
        now = self.now

        def measure(
            candidate: Target, stable: Target, window_s: float, test: DriftTestName
        ) -> tuple[float, int] | None:
            if logging_ is None or logging_.sample_rate <= 0 or not bucket:
                raise SourceError("predictionDrift needs spec.payloadLogging and a bucket")
            return self.ctx.drift.measure(f"s3://{bucket}", candidate, stable, window_s, test, now)

        return measure

    # act ----------------------------------------------------------------------------------
    def apply(self, manifest: dict[str, Any]) -> None:
        """Server-side apply, unless this exact manifest was applied and the object exists."""
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        key = (self.uid, kind, name)
        digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
        if self.ctx.applied.get(key) == digest and (kind, name) in self.present:
            return
        self.cluster.apply(manifest)
        self.ctx.applied[key] = digest

    def wanted(
        self, spec: ModelDeploymentSpec, result: Plan, specs: Mapping[str, ModelVersionSpec]
    ) -> builders.Wanted:
        """The plan in the builders' words."""
        kept_versions = {v.version for v in result.variants}
        shadow = result.shadow if result.shadow in kept_versions else None
        traffic = result.status.traffic
        return builders.Wanted(
            variants=tuple(
                builders.Variant(
                    p.version, specs[p.version], p.role, p.replicas, p.hpa_min, p.hpa_max
                )
                for p in result.variants
                if p.version in specs
            ),
            unreadable=tuple(p.version for p in result.variants if p.version not in specs),
            stable_version=result.status.stable_version or spec.stable.model_version_ref.name,
            mode=self.mode,
            shadow_version=shadow,
            stable_only=shadow is not None and (traffic is None or traffic.candidate == 0),
            backends=tuple((v, w) for v, w in result.backends if v in kept_versions),
        )

    def converge(
        self,
        spec: ModelDeploymentSpec,
        result: Plan,
        specs: Mapping[str, ModelVersionSpec],
        existing: dict[tuple[str, str], list[dict[str, Any]]],
    ) -> None:
        """Build every child the plan wants, apply them, then delete the owned ones not kept."""
        wanted = self.wanted(spec, result, specs)
        children = builders.build_children(self.owner, spec, wanted, self.ctx.runtime)
        for manifest in children.manifests:
            self.apply(manifest)
        for (api_version, kind), objects in existing.items():
            for obj in objects:
                name = obj["metadata"]["name"]
                if (kind, name) not in children.keep:
                    self.cluster.delete(api_version, kind, name, self.namespace)
                    self.ctx.applied.pop((self.uid, kind, name), None)

    def events(self, result: Plan) -> None:
        for event in result.events:
            log.info(
                "%s/%s %s: %s",
                self.namespace,
                self.name,
                event.reason,
                event.message,
                extra={"object": {"namespace": self.namespace, "name": self.name}},
            )
            with contextlib.suppress(ClusterError):  # an Event is a courtesy
                self.cluster.event(self.body, event.type, event.reason, event.message)

    def run(self) -> PassResult:
        old_status = dict(self.body.get("status") or {})
        try:
            spec = ModelDeploymentSpec.model_validate(self.body.get("spec") or {})
        except ValidationError as exc:
            return self.invalid(old_status, str(exc))
        try:
            status: ModelDeploymentStatus | None = (
                ModelDeploymentStatus.model_validate(old_status) if old_status else None
            )
        except ValidationError:
            log.warning("%s/%s: unreadable status, starting over", self.namespace, self.name)
            status = None
        self.mode = self.ctx.traffic_mode(self.cluster)
        names = {spec.stable.model_version_ref.name}
        if spec.candidate is not None:
            names.add(spec.candidate.model_version_ref.name)
        if status is not None:
            names |= {n for n in (status.stable_version, status.candidate_version) if n}
            if status.rollback is not None:
                names.add(status.rollback.rejected_version)
        ready, specs = self.versions(names)
        existing = self.children()
        self.present = {
            (kind, o["metadata"]["name"]) for (_, kind), objs in existing.items() for o in objs
        }
        annotations = (self.body.get("metadata") or {}).get("annotations") or {}
        promote = annotations.get(PROMOTE) == "true" or RESUME in annotations
        verdict = self.analyse(spec, status, specs)
        shadow = self.shadow(spec, status, specs)
        facts = Facts(
            now=self.now,
            generation=self.generation,
            mode=self.mode,
            namespace=self.namespace,
            name=self.name,
            ready_replicas=self.ready_replicas(existing.get(("apps/v1", "Deployment"), []), names),
            versions=ready,
            promote=promote,
            verdict=verdict,
            drift_pause=DriftPause.parse(annotations.get(DRIFT_PAUSE)),
        )
        result = plan(spec, status, facts)
        if shadow is not None:  # read before the plan: a rollback keeps its final count
            result.status.shadow = shadow
        self.converge(spec, result, specs, existing)
        self.events(result)
        self.ctx.metrics.record(self.namespace, self.name, result.status)
        new_status = result.status.to_wire()
        return PassResult(merge_patch(old_status, new_status), result.consume_promote, result)

    def invalid(self, old_status: dict[str, Any], message: str) -> PassResult:
        current = ModelDeploymentStatus.model_validate(
            {"conditions": old_status.get("conditions") or []}
        )
        conditions = mark_stalled(
            current.conditions, INVALID_SPEC, message[:2000], self.generation, self.now
        )
        new = dict(old_status)
        new["conditions"] = [c.to_wire() for c in conditions]
        new["observedGeneration"] = self.generation
        new["phase"] = "Stalled"
        return PassResult(merge_patch(old_status, new))


def reconcile(
    cluster: Cluster, ctx: RolloutContext, body: Mapping[str, Any], now: datetime
) -> PassResult:
    """One pass; ClusterError escapes for the handler to report and retry."""
    return Pass(cluster, ctx, body, now).run()
