"""The documented way to install the health checks into a running Argo CD's argocd-cm works."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import yaml

from modelplane_cli.gitops import ARGOCD_CM
from tests.crds.support import REPO_ROOT

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def test_merge_patch_adds_the_health_checks_and_keeps_argo_cds_own_settings(
    kubectl: Kubectl,
) -> None:
    kubectl("create", "namespace", "argocd", check=False)
    existing = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": "argocd"},
        "data": {"url": "https://argocd.example.com"},
    }
    kubectl("apply", "-f", "-", input=json.dumps(existing))
    try:
        # docs/operations.md, "Argo CD"
        kubectl(
            "-n", "argocd", "patch", "configmap", "argocd-cm", "--type", "merge",
            "--patch-file", str(REPO_ROOT / ARGOCD_CM),
        )  # fmt: skip
        stored = json.loads(kubectl("-n", "argocd", "get", "cm", "argocd-cm", "-o", "json").stdout)
        ours = yaml.safe_load((REPO_ROOT / ARGOCD_CM).read_text())["data"]
        assert stored["data"] == {"url": "https://argocd.example.com", **ours}
    finally:
        kubectl("delete", "namespace", "argocd", "--wait=false", check=False)
