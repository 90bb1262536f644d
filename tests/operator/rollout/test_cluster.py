"""ModelDeployments on the real control plane (kwok nodes make the serving pods Ready).

The operator (core handlers + the ModelDeployment timer) runs in-process, limited to this test
namespace; ModelVersions point at real objects in the S3 server and are verified by the core
handler before any pod is created. Without the Gateway API CRDs the weights are realised by
replica ratios behind the endpoint Service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.operator.rollout.cluster_support import (
    annotations_of,
    children,
    model_deployment,
    model_version,
    ready,
    serving_operator,
    status_of,
)
from tests.operator.support import Kubectl, get_json, install_crds, table_cell, wait_for

NAMESPACE = "mp-rollout-tests"


@pytest.fixture(scope="module")
def cluster(kubectl: Kubectl, s3: Any) -> Kubectl:
    install_crds(kubectl)
    kubectl("create", "namespace", NAMESPACE, check=False)
    for seed, name in enumerate(("fraud-1", "fraud-2", "fraud-3")):
        kubectl("apply", "-f", "-", input=model_version(name, NAMESPACE, s3, seed))
    return kubectl


@pytest.fixture(scope="module")
def operator(cluster: Kubectl, kubeconfig: Path, s3: Any) -> Iterator[Kubectl]:
    versions = ("fraud-1", "fraud-2", "fraud-3")
    with serving_operator(cluster, kubeconfig, s3, NAMESPACE, versions) as kubectl:
        yield kubectl


def _apply(kubectl: Kubectl, name: str, spec: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", input=model_deployment(name, NAMESPACE, spec))


def _stable_only(version: str = "fraud-1", replicas: int = 2) -> dict[str, Any]:
    return {"stable": {"modelVersionRef": {"name": version}}, "scaling": {"replicas": replicas}}


def test_a_model_deployment_creates_its_children_and_is_ready_when_its_pods_are(
    operator: Kubectl,
) -> None:
    _apply(operator, "basic", _stable_only())
    status = wait_for(
        lambda: (s := status_of(operator, "basic", NAMESPACE)) and ready(s) and s,
        timeout=120,
        what="basic Ready",
    )
    assert status["stableVersion"] == "fraud-1"
    assert status["trafficMode"] == "ReplicaRatio"
    assert status["url"] == f"http://basic.{NAMESPACE}.svc.cluster.local"
    assert status["phase"] == "Ready"
    deployment = get_json(operator, "deployment", "basic-fraud-1", "-n", NAMESPACE)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["status"]["readyReplicas"] == 2
    owner = deployment["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("ModelDeployment", "basic", True)
    names = children(operator, "basic", NAMESPACE)
    for expected in (
        "deployment.apps/basic-fraud-1",
        "service/basic-fraud-1",
        "service/basic",
        "poddisruptionbudget.policy/basic",
    ):
        assert expected in names
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    mv = get_json(operator, "modelversion", "fraud-1", "-n", NAMESPACE)
    assert env["MODELPLANE_RUNTIME_MODEL_SHA256"] == mv["spec"]["artifact"]["sha256"]
    columns = operator("get", "modeldeployment", "basic", "-n", NAMESPACE).stdout
    assert "fraud-1" in columns
    assert "True" in columns


def test_setting_a_candidate_walks_the_steps_and_promotes_it(operator: Kubectl) -> None:
    _apply(operator, "canary", _stable_only())
    wait_for(
        lambda: ready(status_of(operator, "canary", NAMESPACE)), timeout=120, what="canary Ready"
    )
    spec = {
        **_stable_only(),
        "candidate": {"modelVersionRef": {"name": "fraud-2"}},
        "strategy": {
            "canary": {
                "steps": [{"setWeight": 50}, {"pause": {"duration": "2s"}}, {"setWeight": 100}]
            }
        },
    }
    _apply(operator, "canary", spec)
    seen_steps: set[int] = set()

    def promoted() -> dict[str, Any] | None:
        status = status_of(operator, "canary", NAMESPACE)
        if status.get("currentStep") is not None:
            seen_steps.add(int(status["currentStep"]))
        if status.get("stableVersion") == "fraud-2" and ready(status):
            return status
        return None

    status = wait_for(promoted, timeout=180, interval=0.3, what="fraud-2 promoted")
    assert status.get("candidateVersion") is None
    assert status["traffic"]["stable"] == 100
    assert seen_steps, "the rollout was observed between steps"
    # kubectl shows what serves, though the spec still names fraud-2 as candidate
    table = operator("get", "mdep", "canary", "-n", NAMESPACE).stdout
    assert table_cell(table, "STABLE") == "fraud-2"
    assert table_cell(table, "CANDIDATE") == ""
    wait_for(
        lambda: get_json(operator, "deployment", "canary-fraud-1", "-n", NAMESPACE) is None,
        timeout=60,
        what="old stable retired",
    )
    events = json.loads(
        operator(
            "get",
            "events",
            "-n",
            NAMESPACE,
            "--field-selector",
            "involvedObject.name=canary",
            "-o",
            "json",
        ).stdout
    )["items"]
    reasons = {e["reason"] for e in events}
    assert {"RolloutStarted", "StepCompleted", "Promoted"} <= reasons


def test_an_indefinite_pause_waits_for_the_promote_annotation(operator: Kubectl) -> None:
    spec = {
        **_stable_only(replicas=1),
        "candidate": {"modelVersionRef": {"name": "fraud-3"}},
        "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
    }
    _apply(operator, "manual", spec)
    status = wait_for(
        lambda: (s := status_of(operator, "manual", NAMESPACE)).get("currentStep") == 1 and s,
        timeout=180,
        what="paused at step 1",
    )
    assert status["stableVersion"] == "fraud-1"
    assert status["traffic"]["candidate"] == 50  # one pod each behind one Service
    reconciling = next(c for c in status["conditions"] if c["type"] == "Reconciling")
    assert reconciling["reason"] == "CanaryPaused"
    operator("annotate", "modeldeployment", "manual", "-n", NAMESPACE, "modelplane.io/promote=true")
    wait_for(
        lambda: status_of(operator, "manual", NAMESPACE).get("stableVersion") == "fraud-3",
        timeout=60,
        what="promoted by annotation",
    )
    annotations = annotations_of(operator, "modeldeployment", "manual", NAMESPACE)
    assert "modelplane.io/promote" not in annotations


def test_deleting_a_model_deployment_removes_every_child(operator: Kubectl) -> None:
    _apply(operator, "doomed", _stable_only())
    wait_for(
        lambda: ready(status_of(operator, "doomed", NAMESPACE)), timeout=120, what="doomed Ready"
    )
    assert children(operator, "doomed", NAMESPACE)
    operator("delete", "modeldeployment", "doomed", "-n", NAMESPACE, "--timeout=60s")
    wait_for(
        lambda: children(operator, "doomed", NAMESPACE) == [],
        timeout=120,
        what="children garbage-collected",
    )
