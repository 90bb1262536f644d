"""A fake `Cluster` gateway for handler tests: an in-memory store that fails on anything a test
did not allow (STYLE.md: mocks only at our own gateway, failing by default)."""

from __future__ import annotations

import builtins
import copy
from collections.abc import Mapping
from typing import Any

from modelplane_operator.cluster import ClusterError

Key = tuple[str, str | None, str]


class FakeCluster:
    """In-memory objects keyed by (kind, namespace, name); every call is recorded."""

    def __init__(self, *allowed: str, objects: list[dict[str, Any]] | None = None) -> None:
        self.allowed = set(allowed)
        self.objects: dict[Key, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.events: list[tuple[str, str, str]] = []
        self.fail_with: ClusterError | None = None
        for obj in objects or []:
            self._put(obj)

    def _guard(self, operation: str, detail: Any) -> None:
        self.calls.append((operation, detail))
        if operation not in self.allowed:
            raise AssertionError(f"unexpected gateway call {operation}({detail!r})")
        if self.fail_with is not None:
            raise self.fail_with

    def _put(self, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[(obj["kind"], meta.get("namespace"), meta["name"])] = copy.deepcopy(dict(obj))

    def apply(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        self._guard("apply", (manifest["kind"], manifest["metadata"]["name"]))
        self._put(manifest)
        return dict(manifest)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        self._guard("get", (kind, namespace, name))
        found = self.objects.get((kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> builtins.list[dict[str, Any]]:
        self._guard("list", (kind, namespace))
        return [
            copy.deepcopy(o)
            for (k, ns, _), o in sorted(self.objects.items(), key=lambda i: str(i[0]))
            if k == kind and (namespace is None or ns == namespace)
        ]

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        self._guard("delete", (kind, namespace, name))
        return self.objects.pop((kind, namespace, name), None) is not None

    def patch_status(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        status: Mapping[str, Any],
    ) -> None:
        self._guard("patch_status", (kind, namespace, name))
        self.objects[(kind, namespace, name)].setdefault("status", {}).update(status)

    def annotate(self, target: Mapping[str, Any], annotations: Mapping[str, str | None]) -> None:
        meta = target["metadata"]
        where = (target["kind"], meta.get("namespace"), meta["name"])
        self._guard("annotate", where)
        current = self.objects[where].setdefault("metadata", {}).setdefault("annotations", {})
        for key, value in annotations.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value

    def event(self, involved: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        self._guard("event", (type_, reason))
        self.events.append((type_, reason, message))

    def of_kind(self, kind: str) -> builtins.list[dict[str, Any]]:
        """Stored objects of a kind."""
        return [o for (k, _, _), o in self.objects.items() if k == kind]
