"""The organization's MLflow workspace behind the facade, for the standard `mlflow` client:

    MLFLOW_TRACKING_URI=<facade>/api/v1/organizations/<slug or id>/mlflow
    MLFLOW_TRACKING_TOKEN=<API key or access token>

Only the tracking APIs a client needs pass, each with one permission (`RULES`): reads for
viewers, writes (experiments, runs, metrics, params, tags, artifacts, logged models) for
developers, deletions for admins. Model registry writes are refused (models are registered
through Modelplane's registry, which mirrors them into MLflow), and so are workspace admin,
webhooks, gateway, presigned and multipart artifact URLs and everything not listed: 403 or 404
with the envelope. Every forwarded call carries `X-MLFLOW-WORKSPACE` of the organization, set
here whatever the caller sent; the caller's credentials, cookies, Origin and Referer never reach
MLflow, which sees the facade's own token (`Settings.mlflow_token`) instead. Artifact uploads
and downloads are streamed both ways (never held in memory).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from modelplane_api.errors import (
    AlreadyExists,
    BadGateway,
    BadRequest,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
)
from modelplane_api.http_pool import HttpPool
from modelplane_api.mlflow_mirror import WORKSPACE_HEADER, mlflow_auth
from modelplane_api.permissions import Permission

READ, WRITE, DELETE = (
    Permission.EXPERIMENT_READ,
    Permission.EXPERIMENT_WRITE,
    Permission.EXPERIMENT_DELETE,
)
PASSED_REQUEST_HEADERS = ("content-type", "content-length", "accept", "accept-encoding")
PASSED_RESPONSE_HEADERS = (
    "content-type", "content-length", "content-encoding", "content-disposition", "last-modified",
    "etag",
)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """What one MLflow API needs and records."""

    permission: Permission
    audit: str | None = None
    """The audit action of a successful or refused call (`experiment.run.create`); None for
    calls recorded at a coarser grain (a single metric, a tag)."""
    streamed: bool = False
    """The body is streamed to MLflow (artifact uploads), not read first."""


def _rules(*table: tuple[str, str, Rule]) -> list[tuple[str, re.Pattern[str], Rule]]:
    return [(method, re.compile(pattern), rule) for method, pattern, rule in table]


V2, ARTIFACTS = r"api/2\.0/mlflow", r"api/2\.0/mlflow-artifacts/artifacts"
# fmt: off
RULES = _rules(
    ("GET", rf"{V2}/experiments/(get|get-by-name|search)", Rule(READ)),
    ("POST", rf"{V2}/experiments/search", Rule(READ)),
    ("POST", rf"{V2}/experiments/create", Rule(WRITE, "experiment.create")),
    ("POST", rf"{V2}/experiments/update", Rule(WRITE, "experiment.update")),
    ("POST", rf"{V2}/experiments/(set|delete)-experiment-tag", Rule(WRITE)),
    ("POST", rf"{V2}/experiments/delete", Rule(DELETE, "experiment.delete")),
    ("POST", rf"{V2}/experiments/restore", Rule(DELETE, "experiment.restore")),
    ("GET", rf"{V2}/runs/get", Rule(READ)),
    ("POST", rf"{V2}/runs/search", Rule(READ)),
    ("POST", rf"{V2}/runs/create", Rule(WRITE, "experiment.run.create")),
    ("POST", rf"{V2}/runs/log-batch", Rule(WRITE, "experiment.run.log_batch")),
    ("POST", rf"{V2}/runs/(update|log-metric|log-parameter|set-tag|delete-tag|log-inputs|"
             r"outputs|log-model)", Rule(WRITE)),
    ("POST", rf"{V2}/runs/delete", Rule(DELETE, "experiment.run.delete")),
    ("POST", rf"{V2}/runs/restore", Rule(DELETE, "experiment.run.restore")),
    ("GET", rf"{V2}/metrics/(get-history|get-history-bulk-interval)", Rule(READ)),
    ("GET", rf"{V2}/artifacts/list", Rule(READ)),
    ("GET", rf"{ARTIFACTS}(/.*)?", Rule(READ)),
    ("PUT", rf"{ARTIFACTS}/.+", Rule(WRITE, "experiment.artifact.upload", streamed=True)),
    ("DELETE", rf"{ARTIFACTS}/.+", Rule(DELETE, "experiment.artifact.delete")),
    ("POST", rf"{V2}/logged-models", Rule(WRITE, "experiment.logged_model.create")),
    ("POST", rf"{V2}/logged-models/search", Rule(READ)),
    ("GET", rf"{V2}/logged-models/[^/]+(/artifacts/directories)?", Rule(READ)),
    ("PATCH", rf"{V2}/logged-models/[^/]+(/tags)?", Rule(WRITE)),
    ("POST", rf"{V2}/logged-models/[^/]+/params", Rule(WRITE)),
    ("DELETE", rf"{V2}/logged-models/[^/]+/tags/[^/]+", Rule(WRITE)),
    ("DELETE", rf"{V2}/logged-models/[^/]+", Rule(DELETE, "experiment.logged_model.delete")),
    ("GET", rf"{V2}/(registered-models|model-versions)/(get|search|get-latest-versions|"
            r"get-download-uri|alias)", Rule(READ)),
    ("POST", rf"{V2}/registered-models/get-latest-versions", Rule(READ)),
    ("GET", r"api/3\.0/mlflow/server-info", Rule(READ)),
)
# fmt: on
REGISTRY = re.compile(rf"{V2}/(registered-models|model-versions)/.*")
WORKSPACES = re.compile(r"(api|ajax-api)/[23]\.0/mlflow/workspaces(/.*)?")


def rule_for(method: str, path: str) -> Rule:
    """The rule of an MLflow call; 403 for the registry's writes and workspace admin, 404 for
    anything else not listed (or a path that climbs out with `..`)."""
    if ".." in path.split("/") or "//" in path or "\\" in path:
        raise NotFound("not an MLflow tracking API")
    for allowed, pattern, rule in RULES:
        if allowed == method and pattern.fullmatch(path):
            return rule
    if REGISTRY.fullmatch(path):
        raise PermissionDenied(
            "models are registered through Modelplane's registry, which mirrors them into "
            "MLflow: POST /api/v1/organizations/{org_id}/models/{model_id}/versions/from-run"
        )
    if WORKSPACES.fullmatch(path):
        raise PermissionDenied("MLflow workspaces are managed by Modelplane")
    raise NotFound(f"{method} /{path} is not an MLflow tracking API Modelplane serves")


@dataclass
class Upstream:
    """MLflow's answer, its body still to be read or streamed."""

    response: httpx.Response

    @property
    def headers(self) -> dict[str, str]:
        return {
            k: v for k, v in self.response.headers.items() if k.lower() in PASSED_RESPONSE_HEADERS
        }

    async def body(self) -> bytes:
        """The whole body (small JSON answers), the connection released."""
        try:
            return await self.response.aread()
        finally:
            await self.response.aclose()

    async def stream(self) -> AsyncIterator[bytes]:
        """The body as it arrives (artifacts), the connection released at the end."""
        try:
            async for chunk in self.response.aiter_raw():
                yield chunk
        finally:
            await self.response.aclose()


class TrackingProxy:
    """One per app: the connection pool to the MLflow server."""

    def __init__(
        self, base_url: str | None, timeout_s: float = 60.0, token: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self._pool = HttpPool(
            httpx.Timeout(timeout_s, connect=5.0),
            httpx.Limits(max_connections=64, max_keepalive_connections=16),
            headers=mlflow_auth(token),
        )

    async def aclose(self) -> None:
        """Close the connection pool (app shutdown)."""
        await self._pool.aclose()

    async def send(
        self,
        workspace: str,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        content: bytes | AsyncIterator[bytes],
    ) -> Upstream:
        """Forward one call into `workspace`; MLflow's answer, whatever its status."""
        if self.base_url is None:
            raise ServiceUnavailable("no MLflow tracking server is configured")
        sent = {k: v for k, v in headers.items() if k in PASSED_REQUEST_HEADERS}
        sent[WORKSPACE_HEADER] = workspace
        url = f"{self.base_url}/{path}" + (f"?{query}" if query else "")
        client = self._pool.client()
        request = client.build_request(method, url, headers=sent, content=content)
        try:
            return Upstream(await client.send(request, stream=True))
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the MLflow tracking server cannot be reached: {type(exc).__name__}"
            ) from exc

    async def call(
        self,
        workspace: str,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One MLflow REST call of the facade's own (the dashboard's endpoints); MLflow's JSON
        answer. Its errors become the envelope's: 404 for an id it does not know (another
        organization's included), 409 for a name taken, 400 with its message for a bad filter
        or value, 502 for its failures, 503 when it cannot be reached."""
        if self.base_url is None:
            raise ServiceUnavailable("no MLflow tracking server is configured")
        try:
            response = await self._pool.client().request(
                method, f"{self.base_url}/{path}", params=tuple(params or ()), json=body,
                headers={WORKSPACE_HEADER: workspace},
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"the MLflow tracking server cannot be reached: {type(exc).__name__}"
            ) from exc
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.is_success:
            return answer
        code, message = str(answer.get("error_code", "")), str(answer.get("message", ""))[:500]
        if response.status_code == 401 or (
            response.status_code >= 500 and code != "INVALID_PARAMETER_VALUE"
        ):  # 401: MLflow refused the facade's own token
            raise BadGateway(f"the MLflow tracking server failed ({response.status_code})")
        if code == "RESOURCE_DOES_NOT_EXIST" or response.status_code == 404:
            raise NotFound(message or "not found")
        if code == "RESOURCE_ALREADY_EXISTS":
            raise AlreadyExists(message)
        raise BadRequest(message or f"MLflow refused the call ({response.status_code})")


def audit_details(
    action: str, sent: dict[str, Any], answer: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """(resource id, `after`) of an audited call, from its JSON body and MLflow's answer."""
    if action == "experiment.create":
        return answer.get("experiment_id"), {"name": sent.get("name")}
    if action == "experiment.update":
        return sent.get("experiment_id"), {"name": sent.get("new_name")}
    if action.startswith("experiment.run."):
        run = (answer.get("run") or {}).get("info") or {}
        run_id = sent.get("run_id") or run.get("run_id")
        if action == "experiment.run.log_batch":
            counts = {k: len(sent.get(k) or []) for k in ("metrics", "params", "tags")}
            return run_id, counts
        return run_id, {"experiment_id": sent.get("experiment_id") or run.get("experiment_id")}
    if action == "experiment.logged_model.create":
        model = ((answer.get("model") or {}).get("info")) or {}
        return model.get("model_id"), {"name": model.get("name")}
    return sent.get("experiment_id"), {}


def resource_type(action: str) -> str:
    """The audit resource type of an action: `experiment`, `run` (an artifact is its run's) or
    `logged_model`."""
    kind = action.split(".")[1] if action.count(".") == 2 else "experiment"
    return "run" if kind == "artifact" else kind


def artifact_details(path: str) -> tuple[str | None, dict[str, Any]]:
    """(run id, `after`) of an artifact call: proxied artifact paths read
    `[workspaces/<ws>/]<experiment>/<run>/artifacts/<file>`."""
    inner = path.split("mlflow-artifacts/artifacts/", 1)[-1]
    head, marker, file = inner.partition("/artifacts/")
    run = head.rsplit("/", 1)[-1] if marker else None
    return run, {"path": (file if marker else inner)[:500]}
