"""The argocd-cm snippet is generated from the Lua files: one whole script per kind."""

from __future__ import annotations

import yaml

from modelplane_cli.gitops import ARGOCD_CM, ARGOCD_DIR, COMMON_LUA, argocd_cm
from modelplane_crds.kinds import KINDS
from tests.crds.support import REPO_ROOT


def test_committed_snippet_is_what_generate_writes() -> None:
    assert (REPO_ROOT / ARGOCD_CM).read_text() == argocd_cm(REPO_ROOT)


def test_each_kinds_script_is_the_common_rules_then_its_own_file() -> None:
    data = yaml.safe_load((REPO_ROOT / ARGOCD_CM).read_text())["data"]
    assert set(data) == {f"resource.customizations.health.modelplane.io_{k.kind}" for k in KINDS}
    common = (REPO_ROOT / COMMON_LUA).read_text()
    for kind in KINDS:
        own = (REPO_ROOT / ARGOCD_DIR / f"{kind.kind}.lua").read_text()
        assert data[f"resource.customizations.health.modelplane.io_{kind.kind}"] == common + own
