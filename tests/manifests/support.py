"""Rendering the shipped Kustomize builds, and walking what they render.

`render("base" | "dev" | "prod")` runs `kubectl kustomize` once per build and session; the helpers
below pick out pod templates and containers so tests state their rule once for every workload.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = REPO_ROOT / "manifests"
BUILDS = {
    "base": MANIFESTS / "base",
    "dev": MANIFESTS / "overlays" / "dev",
    "prod": MANIFESTS / "overlays" / "prod",
}
PLATFORM_NAMESPACE = "modelplane-system"
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY|_KEYS|DATABASE_URL|REDIS_URL)$")
"""Variables whose values carry credentials (URLs of PostgreSQL and Redis embed a password)."""

Manifest = dict[str, Any]


def kubectl_binary() -> str:
    """The kubectl on PATH (its built-in kustomize renders the builds)."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed: the Kustomize builds cannot be rendered")
    return found


@functools.cache
def _render(path: Path) -> str:
    result = subprocess.run(
        [kubectl_binary(), "kustomize", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{result.stderr}")
    return result.stdout


def render_text(build: str) -> str:
    """The YAML stream `kubectl kustomize` prints for one build."""
    return _render(BUILDS[build])


def render_path(path: Path) -> list[Manifest]:
    """The objects of any kustomization folder."""
    return [d for d in yaml.safe_load_all(_render(path)) if d]


def render(build: str) -> list[Manifest]:
    """A fresh copy of the objects one build renders."""
    return render_path(BUILDS[build])


def group_of(obj: Manifest) -> str:
    """The API group of an object (`""` for the core group)."""
    api_version: str = obj["apiVersion"]
    return api_version.rpartition("/")[0]


def ident(obj: Manifest) -> str:
    """`Kind/namespace/name`, for messages."""
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    """The one object of `kind` named `name`."""
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def pod_templates(objects: list[Manifest]) -> Iterator[tuple[Manifest, Manifest]]:
    """(workload, pod template) of every object that runs pods."""
    for obj in objects:
        kind = obj["kind"]
        if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
            yield obj, obj["spec"]["template"]
        elif kind == "CronJob":
            yield obj, obj["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            yield obj, obj


def containers(pod_spec: Manifest) -> list[Manifest]:
    """Init and regular containers of a pod spec."""
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def env_of(container: Manifest) -> dict[str, Manifest]:
    """A container's env entries by name."""
    return {e["name"]: e for e in container.get("env", [])}
