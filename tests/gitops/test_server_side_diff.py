"""A Git-applied object stays in sync after the operator reconciles it: the operator writes only
`status` (and its own metadata: finalizers), never `.spec`, so `kubectl diff --server-side` of
the same manifests, as Flux and Argo CD's server-side diff compute it, shows nothing.

The samples (`manifests/samples`, one object per kind) are applied server-side under the field
manager a GitOps controller uses, renamed so that nothing else in the session collides with
them; the operator (in this process, cluster-wide) reconciles them until each reports the
generation it acted on; then the diff is empty and no generation moved.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.operator.support import (
    REPO_ROOT,
    get_json,
    install_crds,
    operator_env,
    run_operator,
    wait_for,
)

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
MANAGER = "kustomize-controller"
"""The field manager Flux's kustomize-controller applies with."""


def _rendered(kubectl: Kubectl, slug: str) -> str:
    """The samples as `kubectl kustomize` renders them, the organization `acme` renamed and
    without its quota on ModelDeployments: a fresh control plane's quota controller admits
    objects of a quota'd custom kind only after its next discovery (minutes), which is not what
    this test is about."""
    rendered = kubectl("kustomize", str(REPO_ROOT / "manifests/samples")).stdout
    documents = [d for d in yaml.safe_load_all(rendered.replace("acme", slug)) if d]
    for document in documents:
        if document["kind"] == "Organization":
            document["spec"]["quota"].pop("maxDeployments", None)
    return yaml.safe_dump_all(documents, sort_keys=False)


def _reconciled(kubectl: Kubectl, documents: list[dict[str, Any]]) -> list[str] | None:
    """Each object's `kind/name` once its status names the generation it acted on, else None."""
    seen = []
    for doc in documents:
        meta = doc["metadata"]
        where = ["-n", meta["namespace"]] if "namespace" in meta else []
        live = get_json(kubectl, f"{doc['kind'].lower()}.modelplane.io", meta["name"], *where)
        status = (live or {}).get("status") or {}
        if status.get("observedGeneration") != (live or {}).get("metadata", {}).get("generation"):
            return None
        seen.append(f"{doc['kind']}/{meta['name']}")
    return seen


def test_the_operator_never_makes_a_git_applied_object_differ(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, tmp_path: Path
) -> None:
    install_crds(kubectl)
    slug = f"ssd{uuid.uuid4().hex[:6]}"
    manifests = tmp_path / "samples.yaml"
    manifests.write_text(_rendered(kubectl, slug))
    documents = [d for d in yaml.safe_load_all(manifests.read_text()) if d]
    namespace = f"mp-{slug}"
    apply = ["apply", "--server-side", f"--field-manager={MANAGER}", "-f", str(manifests)]
    env = operator_env(kubeconfig, s3, rollout_interval_s=2)
    with run_operator(kubectl, env):
        organization = [d for d in documents if d["kind"] == "Organization"]
        listed = {"apiVersion": "v1", "kind": "List", "items": organization}
        kubectl("apply", "--server-side", f"--field-manager={MANAGER}", "-f", "-",
                input=json.dumps(listed))  # fmt: skip
        wait_for(
            lambda: get_json(kubectl, "namespace", namespace),
            timeout=60,
            what=f"the organization's namespace {namespace}",
        )
        kubectl(*apply)
        generations = {
            f"{d['kind']}/{d['metadata']['name']}": d["metadata"]["generation"]
            for d in json.loads(kubectl("get", "-f", str(manifests), "-o", "json").stdout)["items"]
        }
        reconciled = wait_for(
            lambda: _reconciled(kubectl, documents),
            timeout=120,
            what="every sample reconciled at its generation",
        )
        assert sorted(reconciled) == sorted(generations)
        diff = kubectl(
            "diff", "--server-side", f"--field-manager={MANAGER}", "-f", str(manifests),
            check=False,
        )  # fmt: skip
        assert (diff.returncode, diff.stdout) == (0, ""), diff.stdout + diff.stderr
        after = json.loads(kubectl("get", "-f", str(manifests), "-o", "json").stdout)["items"]
        assert {
            f"{d['kind']}/{d['metadata']['name']}": d["metadata"]["generation"] for d in after
        } == generations  # the operator wrote no spec
        # Deleted while the operator runs: it owns the organization's finalizer.
        kubectl("delete", "-f", str(manifests), "--wait=true", "--timeout=90s")
