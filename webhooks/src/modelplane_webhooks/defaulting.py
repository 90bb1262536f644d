"""Admission defaulting: labels every tool can select by, and serving defaults made explicit.

Defaults are written into the object at admission time so that what is stored is what runs:
`kubectl get -o yaml` shows the image and thread count a deployment will get, and a later change
of the operator's defaults does not silently change running deployments. Each function returns a
JSON merge patch (only what is missing); the operator's admission binding applies it to kopf's
patch. Pure functions: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from modelplane_crds import labels

MergePatch = dict[str, Any]


def _label_patch(body: Mapping[str, Any], wanted: Mapping[str, str | None]) -> MergePatch:
    existing = (body.get("metadata") or {}).get("labels") or {}
    missing = {k: v for k, v in wanted.items() if v and existing.get(k) != v}
    return {"metadata": {"labels": missing}} if missing else {}


def default_model_version(body: Mapping[str, Any], organization: str | None) -> MergePatch:
    """Label a ModelVersion with its model and organization."""
    spec = body.get("spec") or {}
    return _label_patch(
        body, {labels.MODEL: spec.get("modelName"), labels.ORGANIZATION: organization}
    )


def cpu_cores(quantity: str | int | float | None) -> int | None:
    """Whole cores of a CPU quantity (`500m` → 1, `2` → 2), at least 1; None if unset/unknown."""
    if quantity is None:
        return None
    text = str(quantity).strip()
    try:
        cores = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        return None
    return max(1, math.ceil(cores))


def default_model_deployment(
    body: Mapping[str, Any],
    organization: str | None,
    *,
    model_name: str | None,
    default_image: str,
) -> MergePatch:
    """Label a ModelDeployment with its model and organization; fill in the runtime image and
    onnxruntime threads (from the CPU limit, else 1) when they are not set."""
    patch = _label_patch(body, {labels.MODEL: model_name, labels.ORGANIZATION: organization})
    spec = body.get("spec") or {}
    runtime = spec.get("runtime") or {}
    runtime_patch: dict[str, Any] = {}
    if not runtime.get("image"):
        runtime_patch["image"] = default_image
    if runtime.get("intraOpThreads") is None:
        limits = (spec.get("resources") or {}).get("limits") or {}
        runtime_patch["intraOpThreads"] = cpu_cores(limits.get("cpu")) or 1
    if runtime_patch:
        patch["spec"] = {"runtime": runtime_patch}
    return patch


def default_drift_monitor(body: Mapping[str, Any], organization: str | None) -> MergePatch:
    """Label a DriftMonitor with its organization."""
    return _label_patch(body, {labels.ORGANIZATION: organization})
