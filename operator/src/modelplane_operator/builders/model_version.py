"""A ModelVersion's `usedBy` status: which ModelDeployments reference it (pure; see `builders`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelplane_crds.model_version import USED_BY_LIMIT


def used_by_status(users: Sequence[str]) -> dict[str, Any]:
    """The `usedBy` part of a ModelVersion's status: the first names and the full count."""
    return {"usedBy": list(users[:USED_BY_LIMIT]), "usedByCount": len(users)}


def used_by_changed(status: Mapping[str, Any] | None, users: Sequence[str]) -> bool:
    """Whether the status's `usedBy` part differs from what `users` gives."""
    current, wanted = status or {}, used_by_status(users)
    names: list[str] = current.get("usedBy") or []
    count: int = current.get("usedByCount") or 0
    return bool(names != wanted["usedBy"] or count != wanted["usedByCount"])


def used_by(deployments: Iterable[Mapping[str, Any]], version: str) -> list[str]:
    """Names of the ModelDeployments that reference a ModelVersion as stable or candidate."""
    users = set()
    for deployment in deployments:
        if (deployment.get("metadata") or {}).get("deletionTimestamp"):
            continue
        spec = deployment.get("spec") or {}
        for field in ("stable", "candidate"):
            ref = (spec.get(field) or {}).get("modelVersionRef") or {}
            if ref.get("name") == version:
                users.add(deployment["metadata"]["name"])
    return sorted(users)
