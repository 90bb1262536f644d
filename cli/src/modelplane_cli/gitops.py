"""The Argo CD `argocd-cm` snippet that installs our health checks, generated from the Lua files.

Argo CD reads one self-contained Lua script per kind from its `argocd-cm` ConfigMap, under
`resource.customizations.health.modelplane.io_<Kind>`. The rules every kind shares are written
once, in `manifests/gitops/argocd/common.lua`; each kind's own rules are in `<Kind>.lua` beside
it. `modelplane generate` writes the snippet (common part, then the kind's part, per kind) and
`modelplane generate --check` (CI) fails when it is out of date.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from modelplane_crds.generate import HEADER, to_yaml
from modelplane_crds.kinds import KINDS

ARGOCD_DIR = Path("manifests/gitops/argocd")
ARGOCD_CM = ARGOCD_DIR / "argocd-cm.yaml"
COMMON_LUA = ARGOCD_DIR / "common.lua"
CM_HEADER = HEADER.replace(
    "from the Pydantic models in crds/src/modelplane_crds",
    f"from {COMMON_LUA.as_posix()} and <Kind>.lua",
).replace("(python -m modelplane_crds.generate)", "(modelplane generate)")


def health_key(group: str, kind: str) -> str:
    """The argocd-cm key Argo CD reads a kind's health script from."""
    return f"resource.customizations.health.{group}_{kind}"


def health_script(root: Path, kind: str) -> str:
    """A kind's whole health script: the shared rules, then the kind's own."""
    common = (root / COMMON_LUA).read_text(encoding="utf-8")
    return common + (root / ARGOCD_DIR / f"{kind}.lua").read_text(encoding="utf-8")


def health_scripts(root: Path) -> dict[str, str]:
    """Each kind's health script by its argocd-cm key, from the Lua files under `root`."""
    return {health_key(kind.group, kind.kind): health_script(root, kind.kind) for kind in KINDS}


def argocd_cm(root: Path) -> str:
    """The argocd-cm ConfigMap carrying every health script (merge it into Argo CD's own)."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "argocd-cm",
            "namespace": "argocd",
            "labels": {
                "app.kubernetes.io/name": "argocd-cm",
                "app.kubernetes.io/part-of": "argocd",
            },
        },
        "data": health_scripts(root),
    }
    text = CM_HEADER + to_yaml(config_map)
    assert yaml.safe_load(text)["data"] == config_map["data"]  # block scalars kept every byte
    return text


def rendered_files(root: Path) -> dict[Path, str]:
    """The generated snippet, by path relative to `root`, with its content."""
    return {ARGOCD_CM: argocd_cm(root)}
