"""Feeding objects to the GitOps tools' own evaluators: Argo CD's health and kstatus."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from modelplane_cli.gitops import ARGOCD_CM
from modelplane_cli.local.binaries import ARGOCD_HEALTH, GITOPS_BUILDS, KSTATUS, ensure_built
from tests.crds.support import REPO_ROOT

Verdict = dict[str, str]


def _run(argv: list[str], paths: list[Path]) -> dict[str, Verdict]:
    """One JSON line per file from an evaluator, by the file's stem."""
    done = subprocess.run(
        [*argv, *map(str, paths)], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return {Path(line["file"]).stem: line for line in lines}


def judge(paths: list[Path]) -> tuple[dict[str, Verdict], dict[str, Verdict]]:
    """Argo CD's health (with the generated argocd-cm.yaml) and kstatus's status of each object
    file, by the file's stem; the evaluators are built first if they are not cached."""
    ensure_built(GITOPS_BUILDS)
    argo = [
        str(ARGOCD_HEALTH.path("argocd-health")),
        "--argocd-cm-path",
        str(REPO_ROOT / ARGOCD_CM),
    ]
    return _run(argo, paths), _run([str(KSTATUS.path("kstatus"))], paths)
