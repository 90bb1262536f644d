"""The facade's only door to Kubernetes: server-side apply of Modelplane resources.

`ClusterGateway` is the protocol services depend on; `KubernetesClusterGateway` talks to a real
API server (the official client, run in a worker thread so the event loop never blocks);
`RecordingClusterGateway` in `tests/api/fakes.py` is the fake for unit tests. Every write is
a server-side apply with the field manager `modelplane-api`, so retries are idempotent and the
facade owns exactly the fields it sets.

A call on behalf of a person goes through `gateway.acting_as(caller)`: its reads and writes of
namespaced Modelplane kinds carry `Impersonate-User` (the caller's `modelplane:user:<uuid>`) and
`Impersonate-Group` (the caller's role group in the namespace's organization), so Kubernetes RBAC,
the admission webhooks and the API server's audit log judge and record the person, exactly as
for their `kubectl` (docs/security.md). Cluster-scoped Organizations, Events and Services are
read and written as the facade itself.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from modelplane_api.errors import ClusterRejected, ClusterUnavailable, NamespaceNotReady
from modelplane_crds.organization import NAMESPACE_PREFIX, OrgRole, role_group

FIELD_MANAGER = "modelplane-api"
GROUP = "modelplane.io"
VERSION = "v1alpha1"


@dataclass(frozen=True)
class ResourceKind:
    """Where a kind lives in the API: group, version, plural and scope."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """`group/version` as written in manifests."""
        return f"{self.group}/{self.version}"

    def path(self, name: str, namespace: str | None = None) -> str:
        """REST path of one object."""
        prefix = f"/apis/{self.group}/{self.version}"
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.kind} is namespaced: pass a namespace")
            return f"{prefix}/namespaces/{namespace}/{self.plural}/{name}"
        return f"{prefix}/{self.plural}/{name}"


@dataclass(frozen=True)
class ClusterCaller:
    """Whom a call acts as: a Kubernetes user name (`modelplane:user:<uuid>` or
    `modelplane:api-key:<uuid>`) and the caller's role in the organization called into."""

    user: str
    role: OrgRole

    def headers(self, namespace: str) -> dict[str, str]:
        """The impersonation headers for a call into the organization of `namespace`: one group,
        the role's (the client's headers are a dict, and a caller has exactly one role)."""
        slug = namespace.removeprefix(NAMESPACE_PREFIX)
        return {"Impersonate-User": self.user, "Impersonate-Group": role_group(slug, self.role)}

    def to_wire(self) -> dict[str, str]:
        """As stored with a pending write (the outbox)."""
        return {"user": self.user, "role": self.role}

    @classmethod
    def from_wire(cls, wire: dict[str, Any] | None) -> ClusterCaller | None:
        """From `to_wire`; None for a write the facade makes as itself."""
        if not wire:
            return None
        role = str(wire["role"])
        if role not in ("admin", "developer", "viewer"):
            raise ValueError(f"unknown role {role!r}")
        return cls(str(wire["user"]), role)  # type: ignore[arg-type]  # checked just above


ORGANIZATION = ResourceKind(GROUP, VERSION, "Organization", "organizations", namespaced=False)
MODEL_VERSION = ResourceKind(GROUP, VERSION, "ModelVersion", "modelversions", namespaced=True)
MODEL_DEPLOYMENT = ResourceKind(
    GROUP, VERSION, "ModelDeployment", "modeldeployments", namespaced=True
)
DRIFT_MONITOR = ResourceKind(GROUP, VERSION, "DriftMonitor", "driftmonitors", namespaced=True)
KINDS_BY_PLURAL = {
    kind.plural: kind for kind in (ORGANIZATION, MODEL_VERSION, MODEL_DEPLOYMENT, DRIFT_MONITOR)
}


class ClusterGateway(Protocol):
    """What the facade may do to the cluster."""

    def acting_as(self, caller: ClusterCaller | None) -> ClusterGateway:
        """This gateway for calls on behalf of `caller` (impersonated); None: as the facade."""
        ...

    async def apply(
        self, kind: ResourceKind, body: dict[str, Any], field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Server-side apply `body` (force, field manager `modelplane-api` unless another is
        given); return the object."""
        ...

    async def get(
        self, kind: ResourceKind, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """Read one object, or None when it does not exist."""
        ...

    async def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> None:
        """Delete one object; absent objects are fine."""
        ...

    async def list_objects(
        self, kind: ResourceKind, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """The objects of a namespaced kind in one namespace, optionally by label."""
        ...

    async def events(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """The Kubernetes Events about one object, oldest first."""
        ...

    async def service_address(self, namespace: str, name: str) -> str | None:
        """`http://<cluster IP>:<port>` of a Service (its first port), or None when it does
        not exist or has no cluster IP."""
        ...


class KubernetesClusterGateway:
    """ClusterGateway over the official kubernetes client."""

    def __init__(
        self, api_client: Any, request_timeout: float = 10.0, caller: ClusterCaller | None = None
    ) -> None:
        from kubernetes import client

        self._api_client = api_client
        self._objects = client.CustomObjectsApi(api_client)
        self._core = client.CoreV1Api(api_client)
        self._timeout = request_timeout
        self.caller = caller

    def acting_as(self, caller: ClusterCaller | None) -> KubernetesClusterGateway:
        """This gateway for calls on behalf of `caller` (impersonated); None: as the facade."""
        return KubernetesClusterGateway(self._api_client, self._timeout, caller)

    def _as(self, namespace: str | None) -> dict[str, Any]:
        """The per-call header override of an impersonated call into `namespace`."""
        if self.caller is None or not namespace:
            return {}
        return {"_headers": self.caller.headers(namespace)}

    @classmethod
    def from_kubeconfig(cls, path: str | None = None) -> KubernetesClusterGateway:
        """Build from a kubeconfig file, or the in-cluster service account when none is given."""
        from kubernetes import client, config

        if path:
            return cls(config.new_client_from_config(config_file=path))  # type: ignore[no-untyped-call]
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            return cls(client.ApiClient())
        except config.ConfigException:
            return cls(config.new_client_from_config())  # type: ignore[no-untyped-call]

    async def apply(
        self, kind: ResourceKind, body: dict[str, Any], field_manager: str = FIELD_MANAGER
    ) -> dict[str, Any]:
        """Server-side apply `body` (force, field manager `modelplane-api` unless another is
        given); return the object."""
        name, namespace = body["metadata"]["name"], body["metadata"].get("namespace")
        options: dict[str, Any] = {
            "field_manager": field_manager,
            "force": True,
            "_content_type": "application/apply-patch+yaml",
        }
        if kind.namespaced:
            options.update(self._as(namespace))
            call = functools.partial(
                self._objects.patch_namespaced_custom_object,
                kind.group,
                kind.version,
                _required(namespace),
                kind.plural,
                name,
                body,
                **options,
            )
        else:
            call = functools.partial(
                self._objects.patch_cluster_custom_object,
                kind.group,
                kind.version,
                kind.plural,
                name,
                body,
                **options,
            )
        result = await self._run(call, f"apply {kind.plural}/{name}")
        assert result is not None
        return result

    async def get(
        self, kind: ResourceKind, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """Read one object, or None when it does not exist."""
        if kind.namespaced:
            call = functools.partial(
                self._objects.get_namespaced_custom_object,
                kind.group,
                kind.version,
                _required(namespace),
                kind.plural,
                name,
                **self._as(namespace),
            )
        else:
            call = functools.partial(
                self._objects.get_cluster_custom_object, kind.group, kind.version, kind.plural, name
            )
        return await self._run(call, f"get {kind.plural}/{name}", missing_ok=True)

    async def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> None:
        """Delete one object; absent objects are fine."""
        if kind.namespaced:
            call = functools.partial(
                self._objects.delete_namespaced_custom_object,
                kind.group,
                kind.version,
                _required(namespace),
                kind.plural,
                name,
                **self._as(namespace),
            )
        else:
            call = functools.partial(
                self._objects.delete_cluster_custom_object,
                kind.group,
                kind.version,
                kind.plural,
                name,
            )
        await self._run(call, f"delete {kind.plural}/{name}", missing_ok=True)

    async def list_objects(
        self, kind: ResourceKind, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """The objects of a namespaced kind in one namespace, optionally by label."""
        call = functools.partial(
            self._objects.list_namespaced_custom_object,
            kind.group,
            kind.version,
            namespace,
            kind.plural,
            label_selector=label_selector or "",
            **self._as(namespace),
        )
        result = await self._run(call, f"list {kind.plural}", missing_ok=True)
        return list((result or {}).get("items") or [])

    async def events(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """The Kubernetes Events about one object, oldest first."""
        call = functools.partial(
            self._core.list_namespaced_event,
            namespace,
            field_selector=f"involvedObject.kind={kind},involvedObject.name={name}",
        )
        found = await self._run(lambda **kw: call(**kw).to_dict(), f"list events of {name}")
        items = list((found or {}).get("items") or [])
        return sorted(items, key=lambda e: str(e.get("last_timestamp") or e.get("event_time")))

    async def service_address(self, namespace: str, name: str) -> str | None:
        """`http://<cluster IP>:<port>` of a Service (its first port), or None when it does
        not exist or has no cluster IP."""
        call = functools.partial(self._core.read_namespaced_service, name, namespace)
        found = await self._run(
            lambda **kw: call(**kw).to_dict(), f"get service {name}", missing_ok=True
        )
        spec = (found or {}).get("spec") or {}
        ip, ports = spec.get("cluster_ip"), spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            return None
        host = f"[{ip}]" if ":" in ip else ip
        return f"http://{host}:{ports[0]['port']}"

    async def _run(
        self, call: Callable[..., Any], what: str, missing_ok: bool = False
    ) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            result = await asyncio.to_thread(call, _request_timeout=self._timeout)
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            if exc.status == 404:  # a write into a namespace that does not exist (yet)
                raise NamespaceNotReady(
                    f"Kubernetes has no namespace for {what} yet: {_api_message(exc)}",
                    {"status": 404},
                ) from exc
            if exc.status in (400, 403, 409, 422):
                raise ClusterRejected(
                    f"Kubernetes refused {what}: {_api_message(exc)}",
                    {"status": exc.status, "reason": exc.reason},
                    status=exc.status,
                ) from exc
            raise ClusterUnavailable(
                f"Kubernetes API refused {what}: {exc.status}",
                {"status": exc.status, "reason": exc.reason},
            ) from exc
        except Exception as exc:  # connection refused, timeouts, TLS: all mean "cluster down"
            raise ClusterUnavailable(f"Kubernetes API unreachable: {type(exc).__name__}") from exc
        return dict(result) if isinstance(result, dict) else {}


def _api_message(exc: Any) -> str:
    """The API server's (or an admission webhook's) message in an error Status."""
    import json

    try:
        return str(json.loads(exc.body).get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)


def _required(namespace: str | None) -> str:
    if not namespace:
        raise ValueError("namespaced kinds need a namespace")
    return namespace


STALE_RETRIES = 3
"""How often a write read at an older resourceVersion is re-read and sent again when only
the status (or metadata) moved in between: the operator writes a rolling deployment's status
every few seconds, a drift monitor's after every evaluation."""


async def apply_unless_changed(
    gateway: ClusterGateway,
    kind: ResourceKind,
    live: dict[str, Any],
    body_at: Callable[[str | None], dict[str, Any]],
) -> dict[str, Any]:
    """Apply `body_at(resourceVersion)` with the resourceVersion `live` was read at, so a
    concurrent change of the spec answers 409 (`ClusterRejected`) instead of being overwritten.
    A 409 caused by a status update alone (`metadata.generation` unchanged) is retried at the
    fresh resourceVersion — the body computed from the spec that was read is still right."""
    meta = live.get("metadata") or {}
    name, namespace = meta["name"], meta.get("namespace")
    for attempt in range(STALE_RETRIES + 1):
        try:
            return await gateway.apply(kind, body_at(meta.get("resourceVersion")))
        except ClusterRejected as exc:
            if exc.status_code != 409 or attempt == STALE_RETRIES:
                raise
            fresh = await gateway.get(kind, name, namespace)
            fresh_meta = (fresh or {}).get("metadata") or {}
            if fresh is None or fresh_meta.get("generation") != meta.get("generation"):
                raise  # the spec itself changed since it was read: the caller decides again
            meta = fresh_meta
    raise AssertionError("unreachable")
