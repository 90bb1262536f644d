"""The reconcile pass against the fake gateway (failing on unexpected calls)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kopf
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from modelplane_crds.model_deployment import (
    AnalysisStatus,
    Measurement,
    ModelDeploymentStatus,
    Traffic,
)
from modelplane_operator.builders.model_deployment import RuntimeConfig
from modelplane_operator.cluster import ClusterError
from modelplane_operator.handlers.converged import Converged
from modelplane_operator.handlers.model_deployment import converge_model_deployment
from modelplane_operator.metrics import RolloutMetrics
from modelplane_operator.rollout.reconcile import (
    PROMOTE,
    RESUME,
    PassResult,
    RolloutContext,
    merge_patch,
    reconcile,
    settled,
)
from modelplane_operator.settings import Settings
from tests.operator.factories import SHA, T0
from tests.operator.fakes import FakeCluster

NS = "mp-acme"
HTTPROUTE_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "httproutes.gateway.networking.k8s.io"},
}


def _mv(name: str, ready: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "modelName": "fraud",
            "version": name.removeprefix("v"),
            "artifact": {"uri": f"s3://models/{name}.onnx", "sha256": SHA},
            "signature": {
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
            },
        },
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _body(
    spec: dict[str, Any], status: dict[str, Any] | None = None, **annotations: str
) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {
            "name": "fraud",
            "namespace": NS,
            "uid": "uid-1",
            "generation": 1,
            "annotations": annotations,
        },
        "spec": spec,
        "status": status or {},
    }


def _ctx(mode: str = "auto") -> RolloutContext:
    return RolloutContext(
        settings=Settings(traffic_mode=mode),
        runtime=RuntimeConfig(image="ghcr.io/modelplane/serving-runtime:0.1.0"),
        metrics=RolloutMetrics(CollectorRegistry()),
    )


def _cluster(*extra: dict[str, Any]) -> FakeCluster:
    return FakeCluster(
        "get", "list", "apply", "delete", "event", objects=[_mv("v1"), _mv("v2"), *extra]
    )


def _make_ready(cluster: FakeCluster, name: str, pods: int) -> None:
    for obj in cluster.of_kind("Deployment"):
        if obj["metadata"]["name"] == name:
            obj["status"] = {"readyReplicas": pods, "updatedReplicas": pods}


def _status_after(body: dict[str, Any], result: PassResult) -> dict[str, Any]:
    status = dict(body["status"])
    for key, value in result.status.items():
        if value is None:
            status.pop(key, None)
        elif isinstance(value, dict) and isinstance(status.get(key), dict):
            status[key] = {**status[key], **value}
        else:
            status[key] = value
    return status


STABLE_ONLY = {"stable": {"modelVersionRef": {"name": "v1"}}}


def test_a_new_deployment_creates_its_children_and_waits_for_pods() -> None:
    cluster = _cluster()
    result = reconcile(cluster, _ctx(), _body(STABLE_ONLY), T0)
    names = {
        (o["kind"], o["metadata"]["name"])
        for o in cluster.objects.values()
        if o["kind"] != "ModelVersion"
    }
    assert names == {
        ("Deployment", "fraud-v1"),
        ("Service", "fraud-v1"),
        ("Service", "fraud"),
        ("PodDisruptionBudget", "fraud"),
    }
    assert result.status["trafficMode"] == "ReplicaRatio"  # no Gateway API CRD in this cluster
    ready = next(c for c in result.status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "PodsNotReady")
    assert result.status["url"] == "http://fraud.mp-acme.svc.cluster.local"


def test_the_deployment_is_ready_once_its_pods_are_and_a_second_pass_applies_nothing() -> None:
    cluster, ctx = _cluster(), _ctx()
    body = _body(STABLE_ONLY)
    first = reconcile(cluster, ctx, body, T0)
    _make_ready(cluster, "fraud-v1", 1)
    body["status"] = _status_after(body, first)
    second = reconcile(cluster, ctx, body, T0 + timedelta(seconds=10))
    ready = next(c for c in second.status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert second.status["phase"] == "Ready"
    body["status"] = _status_after(body, second)
    assert settled(body)
    cluster.calls.clear()
    reconcile(cluster, ctx, body, T0 + timedelta(seconds=20))
    assert [c for c in cluster.calls if c[0] in ("apply", "delete")] == []


def test_a_deleted_child_is_re_created_on_the_next_pass() -> None:
    cluster, ctx = _cluster(), _ctx()
    body = _body(STABLE_ONLY)
    reconcile(cluster, ctx, body, T0)
    del cluster.objects[("Service", NS, "fraud")]
    reconcile(cluster, ctx, body, T0)
    assert ("Service", NS, "fraud") in cluster.objects


def test_with_the_gateway_api_a_canary_is_an_http_route_with_weights() -> None:
    cluster, ctx = _cluster(HTTPROUTE_CRD), _ctx()
    spec = {
        **STABLE_ONLY,
        "candidate": {"modelVersionRef": {"name": "v2"}},
        "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
    }
    body = _body(spec)
    first = reconcile(cluster, ctx, body, T0)
    assert first.status["trafficMode"] == "HTTPRoute"
    _make_ready(cluster, "fraud-v1", 1)
    _make_ready(cluster, "fraud-v2", 1)
    body["status"] = _status_after(body, first)
    second = reconcile(cluster, ctx, body, T0 + timedelta(seconds=10))
    route = cluster.objects[("HTTPRoute", NS, "fraud")]
    weights = [(r["name"], r["weight"]) for r in route["spec"]["rules"][0]["backendRefs"]]
    assert weights == [("fraud-v1", 80), ("fraud-v2", 20)]
    assert second.status["traffic"] == {"stable": 80, "candidate": 20}  # mirror unchanged
    assert ("Normal", "StepCompleted") in [(t, r) for t, r, _ in cluster.events]


def test_promotion_retires_the_old_stable_and_clears_the_candidate_in_status() -> None:
    cluster, ctx = _cluster(), _ctx()
    registry = CollectorRegistry()
    ctx.metrics = RolloutMetrics(registry)
    spec = {
        **STABLE_ONLY,
        "candidate": {"modelVersionRef": {"name": "v2"}},
        "strategy": {"canary": {"steps": [{"setWeight": 100}]}},
    }
    body = _body(spec)
    body["status"] = _status_after(body, reconcile(cluster, ctx, body, T0))
    _make_ready(cluster, "fraud-v1", 1)
    _make_ready(cluster, "fraud-v2", 1)
    result = reconcile(cluster, ctx, body, T0 + timedelta(seconds=10))
    assert result.status["stableVersion"] == "v2"
    assert result.status["candidateVersion"] is None  # explicit null: merge patch removes it
    assert ("Deployment", NS, "fraud-v1") not in cluster.objects
    assert ("Service", NS, "fraud-v1") not in cluster.objects
    assert (
        cluster.objects[("Deployment", NS, "fraud-v2")]["metadata"]["labels"][
            "modelplane.io/variant"
        ]
        == "stable"
    )
    assert "Promoted" in [r for _, r, _ in cluster.events]
    page = generate_latest(registry).decode()
    labels = 'deployment="fraud",namespace="mp-acme"'
    assert f'modelplane_rollout_traffic_weight{{{labels},variant="stable"}} 100.0' in page
    assert f"modelplane_rollout_step{{{labels}}} -1.0" in page


def test_analysis_measurements_are_exported_per_check_and_forgotten_with_the_deployment() -> None:
    registry = CollectorRegistry()
    metrics = RolloutMetrics(registry)
    status = ModelDeploymentStatus(
        current_step=1,
        traffic=Traffic(stable=80, candidate=20),
        analysis=AnalysisStatus(
            measurements=[
                Measurement(at=T0, check="errorRate", value=0.5, threshold=0.01, passed=False),
                Measurement(at=T0, check="latencyP99", value=12.0, threshold=50, passed=True),
                Measurement(at=T0, check="errorRate", value=0.25, threshold=0.01, passed=False),
            ]
        ),
    )
    metrics.record("mp-acme", "fraud", status)
    page = generate_latest(registry).decode()
    labels = 'deployment="fraud",namespace="mp-acme"'
    assert f'modelplane_rollout_analysis_measurement{{check="errorRate",{labels}}} 0.25' in page
    assert f'modelplane_rollout_analysis_measurement{{check="latencyP99",{labels}}} 12.0' in page
    assert f'modelplane_rollout_traffic_weight{{{labels},variant="candidate"}} 20.0' in page
    assert f"modelplane_rollout_step{{{labels}}} 1.0" in page
    metrics.forget("mp-acme", "fraud")
    assert 'deployment="fraud"' not in generate_latest(registry).decode()


def test_children_of_another_owner_are_never_touched() -> None:
    foreign = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "fraud-v9",
            "namespace": NS,
            "labels": {"modelplane.io/deployment": "fraud"},
            "ownerReferences": [{"uid": "someone-else", "controller": True}],
        },
    }
    cluster = _cluster(foreign)
    reconcile(cluster, _ctx(), _body(STABLE_ONLY), T0)
    assert ("Deployment", NS, "fraud-v9") in cluster.objects


def test_an_invalid_spec_is_stalled_without_touching_children() -> None:
    cluster = FakeCluster()  # no call allowed
    result = reconcile(cluster, _ctx(), _body({"stable": {}}), T0)
    stalled = next(c for c in result.status["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "InvalidSpec"
    assert result.status["phase"] == "Stalled"


def test_api_errors_escape_for_the_handler_to_retry() -> None:
    cluster = _cluster()
    cluster.fail_with = ClusterError("boom", status=503, transient=True)
    with pytest.raises(ClusterError) as caught:
        reconcile(cluster, _ctx(), _body(STABLE_ONLY), T0)
    assert caught.value.transient


def test_merge_patch_nulls_removed_keys_recursively() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    new = {"a": 1, "b": {"c": 2}, "e": [2]}
    assert merge_patch(old, new) == {"b": {"d": None}, "e": [2]}


def test_promote_annotation_is_consumed_when_used() -> None:
    cluster, ctx = _cluster(), _ctx()
    spec = {
        **STABLE_ONLY,
        "candidate": {"modelVersionRef": {"name": "v2"}},
        "strategy": {"canary": {"steps": [{"setWeight": 10}, {"pause": {}}]}},
    }
    body = _body(spec)
    body["status"] = _status_after(body, reconcile(cluster, ctx, body, T0))
    _make_ready(cluster, "fraud-v1", 1)
    _make_ready(cluster, "fraud-v2", 1)
    body["status"] = _status_after(body, reconcile(cluster, ctx, body, T0))
    assert body["status"]["currentStep"] == 1
    body["metadata"]["annotations"] = {"modelplane.io/promote": "true"}
    result = reconcile(cluster, ctx, body, T0)
    assert result.consume_promote
    assert result.status["stableVersion"] == "v2"  # pause ended, last step: promoted


def test_api_trouble_is_reported_and_retried_at_the_next_tick() -> None:
    cluster, ctx = _cluster(), _ctx()
    cluster.fail_with = ClusterError("GET …: 503 unavailable", status=503, transient=True)
    converged = converge_model_deployment(cluster, ctx, _body(STABLE_ONLY), T0)
    assert isinstance(converged.error, kopf.TemporaryError)
    assert converged.error.delay == ctx.settings.rollout_interval_s
    found = {c["type"]: c for c in converged.status["conditions"]}
    assert found["Reconciling"]["status"] == "True"
    assert found["Ready"]["reason"] == "ApiUnavailable"
    assert converged.drop_annotations == ()


def test_a_pass_that_used_the_promote_request_drops_it_in_the_same_patch() -> None:
    patch = kopf.Patch()
    converged = Converged({"phase": "Ready"}, drop_annotations=(PROMOTE, RESUME))
    converged.write(patch, {PROMOTE: "true", "other": "x"})
    assert patch == {"status": {"phase": "Ready"}, "metadata": {"annotations": {PROMOTE: None}}}
    failed = Converged({"phase": "Failed"}, kopf.PermanentError("InvalidSpec: no"))
    with pytest.raises(kopf.PermanentError, match="InvalidSpec"):
        failed.write(patch, {})
    assert patch["status"] == {"phase": "Failed"}
