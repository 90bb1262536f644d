"""Forwarding Open Inference Protocol v2 calls to a deployment's endpoint Service.

The body, the OIP headers (`content-type`, the binary extension's
`inference-header-content-length`) and the answer pass through unchanged: standard clients
(tritonclient, MLServer's, curl) work against the facade as against the Service. The request id
goes to the pods as `x-request-id`, so ground-truth feedback can join the payload logs.

Calling the umbrella Service (not a version's pods) keeps the operator's traffic split: a canary
at 25 % gets a quarter of the facade's requests too. Behind one Service the split is a ratio of
Ready pods and kube-proxy picks a pod per *connection*, so every call opens a connection of its
own: a kept-alive connection would stick to one pod. Where the Service is — its cluster IP and
port — is read through the cluster gateway and cached for `ttl` seconds per deployment, with the
model it serves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from modelplane_api.cluster import MODEL_DEPLOYMENT, MODEL_VERSION, ClusterGateway
from modelplane_api.errors import NotFound, ServiceUnavailable
from modelplane_api.http_pool import HttpPool
from modelplane_crds import labels

PASSED_REQUEST_HEADERS = ("content-type", "inference-header-content-length", "accept")
PASSED_RESPONSE_HEADERS = ("content-type", "inference-header-content-length")


class UpstreamUnavailable(ServiceUnavailable):
    """The deployment's Service did not answer."""

    code = "deployment_unavailable"


@dataclass(frozen=True)
class Endpoint:
    """Where a deployment answers and the model name it serves under."""

    base_url: str
    model: str


@dataclass(frozen=True)
class Forwarded:
    """The Service's answer, passed through unchanged."""

    status_code: int
    body: bytes
    headers: dict[str, str]


class ServingProxy:
    """One per app: the endpoint cache and the HTTP client to the Services."""

    def __init__(
        self, gateway: ClusterGateway, *, timeout_s: float = 30.0, ttl_s: float = 10.0
    ) -> None:
        self.gateway = gateway
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self._pool = HttpPool(
            httpx.Timeout(timeout_s, connect=5.0),
            httpx.Limits(max_connections=256, max_keepalive_connections=0),
        )
        self._endpoints: dict[tuple[str, str], tuple[float, Endpoint]] = {}

    async def aclose(self) -> None:
        """Close the connections (app shutdown)."""
        await self._pool.aclose()

    async def endpoint(self, namespace: str, name: str) -> Endpoint:
        """The deployment's Service address and model, cached for `ttl_s`."""
        key = (namespace, name)
        now = time.monotonic()
        cached = self._endpoints.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        deployment = await self.gateway.get(MODEL_DEPLOYMENT, name, namespace)
        if deployment is None:
            raise NotFound("deployment not found")
        address = await self.gateway.service_address(namespace, name)
        if address is None:
            raise UpstreamUnavailable(
                f"deployment {name!r} has no endpoint yet: the operator has not made its Service"
            )
        found = Endpoint(address, await self._model_of(namespace, deployment))
        self._endpoints[key] = (now + self.ttl_s, found)
        return found

    async def _model_of(self, namespace: str, deployment: dict[str, Any]) -> str:
        """The model name the pods serve under: the ModelVersion's `spec.modelName` (the
        deployment's `modelplane.io/model` label says the same for the facade's own)."""
        meta, spec = deployment.get("metadata") or {}, deployment.get("spec") or {}
        labelled = (meta.get("labels") or {}).get(labels.MODEL)
        if labelled:
            return str(labelled)
        stable = ((spec.get("stable") or {}).get("modelVersionRef") or {}).get("name")
        version = await self.gateway.get(MODEL_VERSION, str(stable), namespace) if stable else None
        return str(((version or {}).get("spec") or {}).get("modelName") or meta.get("name"))

    def forget(self, namespace: str, name: str) -> None:
        """Drop a cached endpoint (its Service did not answer)."""
        self._endpoints.pop((namespace, name), None)

    async def forward(
        self,
        namespace: str,
        name: str,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
        request_id: str,
    ) -> Forwarded:
        """Send one OIP call to the deployment; its answer, whatever the status."""
        endpoint = await self.endpoint(namespace, name)
        sent = {k: v for k, v in headers.items() if k in PASSED_REQUEST_HEADERS}
        sent["x-request-id"] = request_id
        try:
            response = await self._pool.client().request(
                method, endpoint.base_url + path, content=body or None, headers=sent
            )
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(
                f"deployment {name!r} did not answer within {self.timeout_s:g} s"
            ) from exc
        except httpx.HTTPError as exc:
            self.forget(namespace, name)
            raise UpstreamUnavailable(
                f"deployment {name!r} cannot be reached: {type(exc).__name__}"
            ) from exc
        passed = {k: v for k, v in response.headers.items() if k in PASSED_RESPONSE_HEADERS}
        return Forwarded(response.status_code, response.content, passed)
