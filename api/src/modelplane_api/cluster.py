"""The facade's only door to Kubernetes: server-side apply of Modelplane resources.

`ClusterGateway` is the protocol services depend on; `KubernetesClusterGateway` talks to a real
API server (the official client, run in a worker thread so the event loop never blocks);
`RecordingClusterGateway` in `modelplane_api.testing` is the fake for unit tests. Every write is
a server-side apply with the field manager `modelplane-api`, so retries are idempotent and the
facade owns exactly the fields it sets.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Protocol

from modelplane_api.errors import ClusterUnavailable

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


ORGANIZATION = ResourceKind(GROUP, VERSION, "Organization", "organizations", namespaced=False)


class ClusterGateway(Protocol):
    """What the facade may do to the cluster."""

    async def apply(self, kind: ResourceKind, body: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply `body` (force, field manager `modelplane-api`); return the object."""
        ...

    async def get(
        self, kind: ResourceKind, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """Read one object, or None when it does not exist."""
        ...

    async def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> None:
        """Delete one object; absent objects are fine."""
        ...


class KubernetesClusterGateway:
    """ClusterGateway over the official kubernetes client."""

    def __init__(self, api_client: Any, request_timeout: float = 10.0) -> None:
        self._api = api_client
        self._timeout = request_timeout

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

    async def apply(self, kind: ResourceKind, body: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply `body` (force, field manager `modelplane-api`); return the object."""
        metadata = body.get("metadata", {})
        path = kind.path(metadata["name"], metadata.get("namespace"))
        result = await self._call(
            "PATCH",
            path,
            body=json.dumps(body),
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            content_type="application/apply-patch+yaml",
        )
        assert result is not None
        return result

    async def get(
        self, kind: ResourceKind, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """Read one object, or None when it does not exist."""
        return await self._call("GET", kind.path(name, namespace), missing_ok=True)

    async def delete(self, kind: ResourceKind, name: str, namespace: str | None = None) -> None:
        """Delete one object; absent objects are fine."""
        await self._call("DELETE", kind.path(name, namespace), missing_ok=True)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
        missing_ok: bool = False,
    ) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        def call() -> dict[str, Any] | None:
            response = self._api.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=self._timeout,
            )
            data = response[0].data if isinstance(response, tuple) else response.data
            return json.loads(data) if data else {}

        try:
            return await asyncio.to_thread(call)
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise ClusterUnavailable(
                f"Kubernetes API refused {method} {path}: {exc.status}",
                {"status": exc.status, "reason": exc.reason},
            ) from exc
        except Exception as exc:  # connection refused, timeouts, TLS: all mean "cluster down"
            raise ClusterUnavailable(f"Kubernetes API unreachable: {type(exc).__name__}") from exc
