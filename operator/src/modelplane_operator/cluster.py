"""The operator's only door to the Kubernetes API (besides kopf's own watching and patching): the
handlers, the rollout pass, the leader election and the drift job's `--monitor` lookup all go
through it, and it is the only module that imports `kubernetes` (an import-linter contract).

Handlers ask for what they need in domain words (`apply`, `get`, `list`, `delete`, `event`);
children are written by server-side apply with the field manager `modelplane-operator`, so a
repeated or interrupted reconcile converges on the same objects instead of creating copies.
Tests replace this class with a fake that fails on unexpected calls.

It is a small synchronous HTTP client (httpx) over the kubeconfig or in-cluster credentials that
`kubernetes.config` resolves, so kopf (through `login`) and the gateway act as the same
identity. Handlers call it from worker threads (`asyncio.to_thread`).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from modelplane_crds.kinds import KINDS

FIELD_MANAGER = "modelplane-operator"
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a path

HTTPROUTE_CRD = "httproutes.gateway.networking.k8s.io"
"""The CRD whose presence selects HTTPRoute traffic splitting (`traffic_mode: auto`)."""

# Kinds the operator touches: (apiVersion, kind) → (plural, namespaced). Modelplane's own kinds
# come from the CRD registry (`modelplane_crds.kinds`), so their names are spelled only there.
RESOURCES: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ResourceQuota"): ("resourcequotas", True),
    ("v1", "LimitRange"): ("limitranges", True),
    ("v1", "Event"): ("events", True),
    ("v1", "Service"): ("services", True),
    ("v1", "Pod"): ("pods", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ("horizontalpodautoscalers", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Secret"): ("secrets", True),
    ("rbac.authorization.k8s.io/v1", "Role"): ("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): ("rolebindings", True),
    ("batch/v1", "CronJob"): ("cronjobs", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("coordination.k8s.io/v1", "Lease"): ("leases", True),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): ("httproutes", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
    **{(kind.api_version, kind.kind): (kind.plural, kind.namespaced) for kind in KINDS},
}


class ClusterError(Exception):
    """The API server refused or could not be reached; `transient` says whether to retry."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool) -> None:
        super().__init__(message)
        self.status = status
        self.transient = transient


class Cluster(Protocol):
    """What handlers may do to the cluster."""

    def apply(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply one object (create or converge)."""
        ...

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        ...

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """All objects of a kind (in a namespace), optionally by label selector."""
        ...

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object; False if it was already gone."""
        ...

    def patch_status(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        status: Mapping[str, Any],
    ) -> None:
        """Merge-patch the status subresource of an object other than the one being handled."""
        ...

    def annotate(self, target: Mapping[str, Any], annotations: Mapping[str, str | None]) -> None:
        """Merge-patch the annotations of `target` (apiVersion, kind, metadata name and
        namespace), an object other than the one being handled; None removes one."""
        ...

    def event(self, involved: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """Record a Kubernetes Event about an object."""
        ...


@dataclass(frozen=True)
class Connection:
    """Where the API server is and how to authenticate, as kubernetes.config resolved it."""

    server: str
    ca_path: str | None = None
    cert_path: str | None = None
    key_path: str | None = None
    token: str | None = None
    token_path: str | None = None
    insecure: bool = False

    def bearer(self) -> str | None:
        """The bearer token; an in-cluster token file is re-read so rotation is picked up."""
        if self.token_path:
            return Path(self.token_path).read_text().strip()
        return self.token


def load_connection(kubeconfig: Path | None) -> Connection:
    """Resolve credentials: an explicit kubeconfig, in-cluster, or the default kubeconfig."""
    from kubernetes import client, config

    cfg = client.Configuration()
    token_path = None
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        token_path = SERVICE_ACCOUNT_TOKEN
    else:
        config.load_kube_config(
            config_file=str(kubeconfig) if kubeconfig else None, client_configuration=cfg
        )  # type: ignore[no-untyped-call]
    auth = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
    token = None
    if auth:
        prefix = (cfg.api_key_prefix or {}).get("authorization", "")
        token = auth.split(" ", 1)[1] if auth.startswith("Bearer ") else auth
        if prefix and prefix != "Bearer":
            token = auth
    return Connection(
        server=cfg.host.rstrip("/"),
        ca_path=cfg.ssl_ca_cert,
        cert_path=cfg.cert_file,
        key_path=cfg.key_file,
        token=token,
        token_path=token_path,
        insecure=not cfg.verify_ssl,
    )


def _ssl_context(conn: Connection) -> ssl.SSLContext | bool:
    if conn.insecure:
        return False
    context = ssl.create_default_context(cafile=conn.ca_path)
    if conn.cert_path and conn.key_path:
        context.load_cert_chain(conn.cert_path, conn.key_path)
    return context


def resource_path(
    api_version: str, kind: str, name: str | None = None, namespace: str | None = None
) -> str:
    """The REST path of a kind (and object)."""
    try:
        plural, namespaced = RESOURCES[(api_version, kind)]
    except KeyError:
        raise ValueError(f"the operator does not handle {api_version} {kind}") from None
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespaced and namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    path = f"{base}/{plural}"
    return f"{path}/{quote(name, safe='')}" if name else path


class KubeGateway:
    """`Cluster` over HTTP: one pooled httpx client, thread-safe."""

    def __init__(self, connection: Connection, timeout_s: float = 30.0) -> None:
        self._connection = connection
        self._client = httpx.Client(
            base_url=connection.server,
            verify=_ssl_context(connection),
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if (token := self._connection.bearer()) is not None:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self._client.request(method, path, params=params, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise ClusterError(f"{method} {path}: {exc}", transient=True) from exc
        if response.status_code >= 400 and response.status_code != 404:
            message = _status_message(response)
            transient = response.status_code in {409, 429} or response.status_code >= 500
            raise ClusterError(
                f"{method} {path}: {response.status_code} {message}",
                status=response.status_code,
                transient=transient,
            )
        return response

    def apply(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply with the operator's field manager, taking over conflicting fields."""
        meta = manifest["metadata"]
        path = resource_path(
            manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace")
        )
        response = self._request(
            "PATCH",
            path,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            json=dict(manifest),
            content_type="application/apply-patch+yaml",
        )
        if response.status_code == 404:
            raise ClusterError(f"apply {path}: 404 (namespace gone?)", status=404, transient=True)
        result: dict[str, Any] = response.json()
        return result

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object, or None if it does not exist."""
        response = self._request("GET", resource_path(api_version, kind, name, namespace))
        if response.status_code == 404:
            return None
        found: dict[str, Any] = response.json()
        return found

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """All objects, following `continue` tokens in pages of 500."""
        path = resource_path(api_version, kind, namespace=namespace)
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": "500"}
        if label_selector:
            params["labelSelector"] = label_selector
        while True:
            response = self._request("GET", path, params=params)
            if response.status_code == 404:
                return items
            page = response.json()
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params["continue"] = token

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Create an object; ClusterError with status 409 if it already exists."""
        meta = manifest["metadata"]
        path = resource_path(
            manifest["apiVersion"], manifest["kind"], namespace=meta.get("namespace")
        )
        result: dict[str, Any] = self._request(
            "POST", path, params={"fieldManager": FIELD_MANAGER}, json=dict(manifest)
        ).json()
        return result

    def replace(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """PUT an object; its resourceVersion makes this fail with 409 if it changed meanwhile."""
        meta = manifest["metadata"]
        path = resource_path(
            manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace")
        )
        result: dict[str, Any] = self._request(
            "PUT", path, params={"fieldManager": FIELD_MANAGER}, json=dict(manifest)
        ).json()
        return result

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete with background propagation; False if already gone."""
        response = self._request(
            "DELETE",
            resource_path(api_version, kind, name, namespace),
            json={"propagationPolicy": "Background"},
        )
        return response.status_code != 404

    def patch_status(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        status: Mapping[str, Any],
    ) -> None:
        """Merge-patch `status` through the status subresource."""
        path = resource_path(api_version, kind, name, namespace) + "/status"
        self._request(
            "PATCH",
            path,
            json={"status": dict(status)},
            content_type="application/merge-patch+json",
        )

    def annotate(self, target: Mapping[str, Any], annotations: Mapping[str, str | None]) -> None:
        """Merge-patch `metadata.annotations` (an object already gone is left alone)."""
        meta = target.get("metadata") or {}
        self._request(
            "PATCH",
            resource_path(
                target["apiVersion"], target["kind"], meta["name"], meta.get("namespace")
            ),
            json={"metadata": {"annotations": dict(annotations)}},
            content_type="application/merge-patch+json",
        )

    def event(self, involved: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """Create a core/v1 Event (what `kubectl describe` and `kubectl events` show)."""
        meta = involved.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta.get('name', 'object')}.", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "type": type_,
            "reason": reason,
            "message": message[:1024],
            "source": {"component": FIELD_MANAGER},
            "reportingComponent": FIELD_MANAGER,
            "reportingInstance": FIELD_MANAGER,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self._request("POST", resource_path("v1", "Event", namespace=namespace), json=event)


def _status_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text[:500])
    except ValueError:
        return response.text[:500]


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    """An ownerReference to `owner` (controller, without blocking its deletion)."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }
