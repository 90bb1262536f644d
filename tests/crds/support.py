"""Shared helpers for the CRD tests: samples, generated schemas, and error paths.

Error paths are written the way the API server prints them (`spec.steps[0].setWeight`), so one
table of invalid objects serves the unit tests (Pydantic, JSON Schema) and the integration tests
(the real API server).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from modelplane_crds.kinds import KINDS, Kind, kind_for

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = REPO_ROOT / "manifests" / "samples"
CRD_DIR = REPO_ROOT / "manifests" / "base" / "crds"

Manifest = dict[str, Any]


def sample_files() -> list[Path]:
    """Every sample manifest (not the kustomization)."""
    return sorted(p for p in SAMPLES_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def load_sample(name: str) -> Manifest:
    """A fresh copy of one sample, by file name."""
    document: Manifest = yaml.safe_load((SAMPLES_DIR / name).read_text())
    return document


def committed_crd(kind: Kind) -> Manifest:
    """The CRD as committed under manifests/base/crds."""
    document: Manifest = yaml.safe_load((CRD_DIR / f"{kind.group}_{kind.plural}.yaml").read_text())
    return document


def committed_schema(kind_name: str) -> Manifest:
    """The committed openAPIV3Schema of a kind."""
    schema: Manifest = committed_crd(kind_for(kind_name))["spec"]["versions"][0]["schema"][
        "openAPIV3Schema"
    ]
    return schema


def all_kinds() -> tuple[Kind, ...]:
    """The registry, for parametrizing."""
    return KINDS


def format_path(parts: Iterable[str | int]) -> str:
    """`("spec", "steps", 0, "x")` → `spec.steps[0].x`, the API server's spelling."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_PREFIX = re.compile(r"^Value error, ([A-Za-z0-9_.\[\]]+): ")


def pydantic_error_paths(error: ValidationError) -> set[str]:
    """Field paths of a Pydantic error; a rule's own field path (`steps: …`) is appended."""
    paths = set()
    for item in error.errors():
        path = format_path(item["loc"])
        match = _PREFIX.match(item["msg"])
        if match:
            path = f"{path}.{match.group(1)}" if path else match.group(1)
        paths.add(path)
    return paths
