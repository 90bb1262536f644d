"""States the real operator reaches cheaply, judged by Argo CD's evaluator and kstatus.

tests/gitops/test_health.py covers every state with statuses built from the crds package; here
the operator itself (in this process, limited to one namespace plus cluster-scoped kinds) writes
the status of the states it reaches without S3 or serving pods, so the health checks are also
proven on what it really writes.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelplane_crds.kinds import kind_for
from tests.crds.support import load_sample
from tests.gitops.support import judge
from tests.operator.support import (
    REPO_ROOT,
    condition,
    get_json,
    install_crds,
    operator_env,
    run_operator,
    wait_for,
)

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

NAMESPACE = "mp-gitops-operated"
TAKEN = "gitops-op-taken"


@dataclass(frozen=True)
class Reached:
    """An object the operator puts in a state: the state is reached when `condition` is True
    with `reason` for the current generation."""

    kind: str
    name: str
    sample: str
    spec: dict[str, Any]
    condition: str
    reason: str
    argo: str
    kstatus: str


CASES = (
    Reached("Organization", "gitops-op-ready", "organization.yaml", {}, "Ready",
            "NamespaceReady", "Healthy", "Current"),
    Reached("Organization", TAKEN, "organization.yaml", {}, "Stalled", "NamespaceConflict",
            "Degraded", "Failed"),
    Reached("ModelDeployment", "without-versions", "modeldeployment-canary.yaml",
            {"candidate": None}, "Reconciling", "ModelVersionNotFound", "Progressing",
            "InProgress"),
    Reached("DriftMonitor", "without-deployment", "driftmonitor.yaml",
            {"deploymentRef": {"name": "absent"}}, "Stalled", "DeploymentNotFound", "Degraded",
            "Failed"),
    Reached("DriftMonitor", "suspended", "driftmonitor.yaml",
            {"deploymentRef": {"name": "without-versions"}, "suspend": True}, "Ready",
            "Suspended", "Suspended", "Current"),
)  # fmt: skip


def _manifest(case: Reached) -> dict[str, Any]:
    document = load_sample(case.sample)
    document["metadata"] = {"name": case.name}
    if kind_for(case.kind).namespaced:
        document["metadata"]["namespace"] = NAMESPACE
    else:
        document["spec"]["slug"] = case.name
    spec = {**document["spec"], **case.spec}
    document["spec"] = {k: v for k, v in spec.items() if v is not None}
    return document


def _reached(kubectl: Kubectl, case: Reached) -> dict[str, Any] | None:
    where = ["-n", NAMESPACE] if kind_for(case.kind).namespaced else []
    found = get_json(kubectl, kind_for(case.kind).plural, case.name, *where)
    mark = condition(found, case.condition)
    if (
        mark is not None
        and mark["status"] == "True"
        and mark["reason"] == case.reason
        and found["status"].get("observedGeneration") == found["metadata"]["generation"]
    ):
        return dict(found)
    return None


@pytest.fixture(scope="module")
def verdicts(
    kubectl: Kubectl, kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The operator's objects in their states, judged by both tools, by object name."""
    install_crds(kubectl)
    kubectl("apply", "-k", str(REPO_ROOT / "manifests" / "base" / "rbac"))
    kubectl("create", "namespace", NAMESPACE)
    kubectl("create", "namespace", f"mp-{TAKEN}")  # not the organization's: a conflict
    folder = tmp_path_factory.mktemp("operated")
    env = operator_env(kubeconfig, payload_bucket="payloads")
    orgs = [c.name for c in CASES if c.kind == "Organization"]
    with run_operator(kubectl, env, namespace=NAMESPACE):
        try:
            for case in CASES:
                kubectl("create", "-f", "-", input=json.dumps(_manifest(case)))
            paths = []
            for case in CASES:
                found = wait_for(functools.partial(_reached, kubectl, case), what=case.name)
                path = folder / f"{case.name}.json"
                path.write_text(json.dumps(found))
                paths.append(path)
            yield judge(paths)
        finally:
            # While the operator runs, so that its finalizers are handled.
            kubectl("delete", "organizations", *orgs, "--ignore-not-found", "--timeout=60s",
                    check=False)  # fmt: skip
    kubectl("delete", "namespace", NAMESPACE, f"mp-{TAKEN}", "--wait=false", check=False)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}-{c.name}")
def test_argo_cd_and_kstatus_judge_what_the_operator_wrote(verdicts: Any, case: Reached) -> None:
    argo, kstatus = verdicts
    assert (argo[case.name]["status"], kstatus[case.name]["status"]) == (
        case.argo,
        case.kstatus,
    ), (argo[case.name], kstatus[case.name])
    assert case.reason in argo[case.name]["message"]
