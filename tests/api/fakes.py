"""Test doubles at the facade's own boundary (the cluster gateway), for unit tests.

`RecordingClusterGateway` records applies and deletes, serves gets from what it recorded, and
fails on any call the test did not allow — an unexpected cluster write is a bug, not a no-op.
"""

from __future__ import annotations

import copy
from typing import Any

from modelplane_api.cluster import FIELD_MANAGER, ClusterCaller, ResourceKind
from modelplane_api.errors import ClusterRejected


class UnexpectedClusterCallError(AssertionError):
    """A test reached the cluster gateway with a call it did not allow."""


class RecordingClusterGateway:
    """A ClusterGateway fake: allow calls explicitly, make them fail on demand."""

    def __init__(
        self,
        *,
        allow: set[str] | frozenset[str] = frozenset(
            {"apply", "get", "delete", "list_objects", "events", "service_address"}
        ),
    ) -> None:
        self.allowed = set(allow)
        self.applied: list[tuple[ResourceKind, dict[str, Any]]] = []
        self.managers: list[str] = []
        self.deleted: list[tuple[ResourceKind, str, str | None]] = []
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.fail_with: Exception | None = None
        self.object_events: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.services: dict[tuple[str, str], str] = {}
        """(namespace, name) → base URL of a Service, as `service_address` answers."""
        self.stale: list[dict[str, Any]] = []
        """Concurrent writes for the next applies that carry a resourceVersion: each is merged
        into the stored object's metadata and the apply answers 409, as a stale write does."""
        self.caller: ClusterCaller | None = None
        self.calls_as: list[tuple[str, ClusterCaller | None]] = []
        """Every call as (verb, whom it acted as); shared by the `acting_as` views."""

    def acting_as(self, caller: ClusterCaller | None) -> RecordingClusterGateway:
        """A view of this fake (same objects and records) whose calls record `caller`."""
        view = copy.copy(self)
        view.caller = caller
        return view

    def _enter(self, verb: str) -> None:
        if verb not in self.allowed:
            raise UnexpectedClusterCallError(f"unexpected cluster call: {verb}")
        self.calls_as.append((verb, self.caller))
        if self.fail_with is not None:
            raise self.fail_with

    async def apply(
        self, kind: ResourceKind, body: dict[str, Any], field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Record a server-side apply. The facade's own manager replaces the object (its spec
        and labels; the status stays); another manager's apply is merged into its metadata."""
        self._enter("apply")
        meta = body["metadata"]
        key = (kind.plural, meta.get("namespace"), meta["name"])
        self.applied.append((kind, copy.deepcopy(body)))
        self.managers.append(field_manager)
        live = self.objects.get(key)
        if self.stale and live is not None and "resourceVersion" in meta:
            live["metadata"].update(self.stale.pop(0))
            raise ClusterRejected(
                "Kubernetes refused apply: the object has been modified",
                {"status": 409},
                status=409,
            )
        stored = copy.deepcopy(body)
        if live is not None and field_manager != FIELD_MANAGER:
            stored = copy.deepcopy(live)
            for part in ("annotations", "labels"):
                if part in meta:
                    stored["metadata"].setdefault(part, {}).update(meta[part])
        elif live is not None and "status" in live:
            stored["status"] = copy.deepcopy(live["status"])
        stored["metadata"].pop("resourceVersion", None)
        if live is not None and "generation" in live["metadata"]:
            stored["metadata"]["generation"] = _generation(live, stored)
        self.objects[key] = stored
        return copy.deepcopy(stored)

    async def get(
        self, kind: ResourceKind, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """Return what was applied under that name, if anything."""
        self._enter("get")
        found = self.objects.get((kind.plural, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    async def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> None:
        """Record a delete."""
        self._enter("delete")
        self.deleted.append((kind, name, namespace))
        self.objects.pop((kind.plural, namespace, name), None)

    async def list_objects(
        self, kind: ResourceKind, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """What was applied in that namespace, filtered by `key=value` labels."""
        self._enter("list_objects")
        wanted = dict(p.split("=", 1) for p in label_selector.split(",")) if label_selector else {}
        return [
            copy.deepcopy(obj)
            for (plural, ns, _), obj in self.objects.items()
            if plural == kind.plural
            and ns == namespace
            and all((obj["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
        ]

    async def events(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """Events set by the test in `self.object_events`."""
        self._enter("events")
        return copy.deepcopy(self.object_events.get((namespace, kind, name), []))

    async def service_address(self, namespace: str, name: str) -> str | None:
        """The address set by the test in `self.services`."""
        self._enter("service_address")
        return self.services.get((namespace, name))


def _generation(live: dict[str, Any], stored: dict[str, Any]) -> int:
    """`metadata.generation` as the API server keeps it, for objects a test gave one: one more
    each time the spec changes (a status or metadata change leaves it)."""
    before = int(live["metadata"]["generation"])
    return before + 1 if live.get("spec") != stored.get("spec") else before
