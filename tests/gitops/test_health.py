"""Argo CD's health checks and kstatus on our objects, read back from a real API server.

Each (kind, state) of tests/gitops/states.py becomes an object in the local control plane: a
sample created through the API server, its status written through the status subresource (so
the CRD's status schema accepts it), sometimes a spec change after that, then `kubectl get -o
json`. Those objects go to Argo CD's own evaluator (cli/go/argocd-health: what `argocd admin
settings resource-overrides health` runs) with the generated argocd-cm snippet that users
install, and to kstatus (cli/go/kstatus: what Flux uses).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelplane_crds.kinds import kind_for
from tests.crds.support import load_sample
from tests.gitops.states import NAMESPACE, STATES, Manifest, State
from tests.gitops.support import judge
from tests.operator.support import install_crds

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

SAMPLES = {
    "Organization": "organization.yaml",
    "ModelVersion": "modelversion-v1.yaml",
    "ModelDeployment": "modeldeployment-canary.yaml",
    "DriftMonitor": "driftmonitor.yaml",
}
ORG_PREFIX = "gitops-health-"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (None removes a key)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _where(state: State) -> list[str]:
    return ["-n", NAMESPACE] if kind_for(state.kind).namespaced else []


def _name(state: State) -> str:
    return f"{ORG_PREFIX}{state.name}" if state.kind == "Organization" else state.name


def _manifest(state: State) -> Manifest:
    document = load_sample(SAMPLES[state.kind])
    document["metadata"] = {"name": _name(state)}
    if kind_for(state.kind).namespaced:
        document["metadata"]["namespace"] = NAMESPACE
    else:
        document["spec"]["slug"] = _name(state)
    document["spec"] = merge_patch(document["spec"], state.spec)
    return document


def _reach(kubectl: Kubectl, state: State, folder: Path) -> Path:
    """Create the object, put it in the state, and save what the API server returns."""
    plural, name, where = kind_for(state.kind).plural, _name(state), _where(state)
    kubectl("create", "-f", "-", input=json.dumps(_manifest(state)))
    if state.status is not None:
        created = json.loads(kubectl("get", plural, name, *where, "-o", "json").stdout)
        status = state.status(int(created["metadata"]["generation"])).to_wire()
        patch = json.dumps({"status": status})
        kubectl("patch", plural, name, *where, "--subresource=status", "--type=merge", "-p", patch)
    if state.change is not None:
        patch = json.dumps({"spec": state.change})
        kubectl("patch", plural, name, *where, "--type=merge", "-p", patch)
    path = folder / f"{state.id}.json"
    path.write_text(kubectl("get", plural, name, *where, "-o", "json").stdout)
    return path


@pytest.fixture(scope="module")
def verdicts(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Argo CD's and kstatus's verdicts on every state, by state id."""
    install_crds(kubectl)
    kubectl("create", "namespace", NAMESPACE)
    folder = tmp_path_factory.mktemp("gitops-objects")
    try:
        paths = [_reach(kubectl, state, folder) for state in STATES]
        argo, kstatus = judge(paths)
        yield {"argo": argo, "kstatus": kstatus, "objects": folder}
    finally:
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
        orgs = [_name(s) for s in STATES if s.kind == "Organization"]
        kubectl("delete", "organizations", *orgs, "--ignore-not-found", check=False)


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.id)
def test_argo_cd_health_follows_the_conditions(verdicts: Any, state: State) -> None:
    verdict = verdicts["argo"][state.id]
    assert (verdict["status"], state.says in verdict["message"]) == (state.argo, True), verdict


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.id)
def test_kstatus_reads_the_same_conditions(verdicts: Any, state: State) -> None:
    verdict = verdicts["kstatus"][state.id]
    assert verdict["status"] == state.kstatus, verdict


def test_every_kind_reaches_every_argo_cd_health_it_can_report() -> None:
    reached = {(s.kind, s.argo) for s in STATES}
    for kind in SAMPLES:
        assert {(kind, "Healthy"), (kind, "Progressing"), (kind, "Degraded")} <= reached
    assert ("ModelDeployment", "Suspended") in reached
    assert ("DriftMonitor", "Suspended") in reached
