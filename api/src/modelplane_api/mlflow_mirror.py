"""The facade's door to MLflow's Model Registry: each organization's models, mirrored into the
organization's own MLflow workspace.

Every call carries `X-MLFLOW-WORKSPACE` set here (the org's namespace name, `mp-<slug>`), per
request, never process-wide (shared/notes/mlflow.md: `mlflow.set_workspace` sets an environment
variable, a cross-tenant leak). The facade creates each workspace once; callers never choose it.
A mirror failure never fails a registration or an organization's creation: the row keeps why
and when to try again (`note_failure`), and the periodic reconciliation
(`registry.reconcile.mirror_pending`) creates it later.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, Literal, Protocol

import httpx

from modelplane_api.errors import InvalidModel, NotFound, PayloadTooLarge, ServiceUnavailable

WORKSPACE_HEADER = "X-MLFLOW-WORKSPACE"
PROXIED = "mlflow-artifacts:/"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
MirrorOutcome = Literal["mirrored", "refused", "unavailable", "unreachable"]
MIRROR_REFUSED_RETRY = timedelta(hours=1)
MIRROR_MAX_BACKOFF = timedelta(minutes=30)


class RegistryMirror(Protocol):
    """What the registry mirrors into MLflow."""

    async def ensure_workspace(self, workspace: str) -> None:
        """The organization's workspace exists (created when missing)."""
        ...

    async def ensure_model(self, workspace: str, name: str, description: str) -> None:
        """The registered model exists in the workspace (created when missing)."""
        ...

    async def add_version(
        self, workspace: str, name: str, source: str, description: str, tags: dict[str, str]
    ) -> str:
        """Create a model version; its MLflow version number."""
        ...

    async def set_alias(self, workspace: str, name: str, alias: str, version: str | None) -> None:
        """Point `alias` of a registered model at `version`; None removes the alias."""
        ...

    async def find_run_model(self, workspace: str, run_id: str, path: str) -> RunModel:
        """The ONNX file of the model logged at `path` in a run of the workspace (NotFound,
        InvalidModel for another flavour)."""
        ...

    async def download(
        self, workspace: str, artifact_path: str, sink: IO[bytes], limit: int
    ) -> int:
        """Stream an artifact into `sink`; its size (PayloadTooLarge beyond `limit`)."""
        ...


@dataclass(frozen=True)
class RunModel:
    """An ONNX file found in a run's artifacts: where, and what MLmodel says about it."""

    artifact_path: str
    """Path under the proxied artifact store (`mlflow-artifacts:/<path>`)."""
    flavors: list[str]


class DisabledMirror:
    """Used when no MLflow is configured: nothing is mirrored."""

    async def ensure_workspace(self, workspace: str) -> None:
        """Refuse: there is no MLflow (an organization's workspace stays pending)."""
        raise ServiceUnavailable("no MLflow tracking server is configured")

    async def ensure_model(self, workspace: str, name: str, description: str) -> None:
        """Nothing to do."""

    async def add_version(
        self, workspace: str, name: str, source: str, description: str, tags: dict[str, str]
    ) -> str:
        """Refuse: there is no MLflow."""
        raise ServiceUnavailable("no MLflow tracking server is configured")

    async def set_alias(self, workspace: str, name: str, alias: str, version: str | None) -> None:
        """Nothing to follow without MLflow."""

    async def find_run_model(self, workspace: str, run_id: str, path: str) -> RunModel:
        """Refuse: there is no MLflow."""
        raise ServiceUnavailable("no MLflow tracking server is configured")

    async def download(
        self, workspace: str, artifact_path: str, sink: IO[bytes], limit: int
    ) -> int:
        """Refuse: there is no MLflow."""
        raise ServiceUnavailable("no MLflow tracking server is configured")


MLMODEL_MAX_BYTES = 1024 * 1024
"""An MLmodel file is a few hundred bytes of YAML; anything past this is refused unread."""


def parse_mlmodel(text: bytes, what: str) -> tuple[list[str], str]:
    """The flavours an MLmodel file (YAML, any shape: it is the user's) declares and the ONNX
    file its `onnx` flavour names; InvalidModel for anything else, never another error."""
    import yaml

    try:
        mlmodel = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidModel(
            f"{what}: its MLmodel file is not valid YAML", {"reason": "InvalidModel"}
        ) from exc
    flavors = mlmodel.get("flavors") if isinstance(mlmodel, dict) else None
    if not isinstance(flavors, dict) or not all(isinstance(k, str) for k in flavors):
        raise InvalidModel(
            f"{what}: its MLmodel file has no `flavors` mapping", {"reason": "InvalidModel"}
        )
    names = sorted(str(k) for k in flavors)[:50]
    if "onnx" not in flavors:
        raise InvalidModel(
            f"{what} is not ONNX (flavors: {', '.join(names) or 'none'}); Modelplane serves "
            "ONNX only and never unpickles. Convert it, e.g. for scikit-learn: onx = "
            "skl2onnx.to_onnx(model, X[:1], options={id(model): {'zipmap': False}}), "
            "then mlflow.onnx.log_model(onx, name='model')",
            {"reason": "NotOnnx", "flavors": names},
        )
    onnx = flavors["onnx"]
    data = onnx.get("data", "model.onnx") if isinstance(onnx, dict) else "model.onnx"
    if not isinstance(data, str) or not data:
        raise InvalidModel(
            f"{what}: its MLmodel names no ONNX file (`data` is {type(data).__name__})",
            {"reason": "InvalidModel"},
        )
    if "/" in data or "\\" in data or data.startswith(".") or len(data) > 255:
        raise InvalidModel(
            f"MLmodel names an ONNX file outside its folder: {data[:100]!r}",
            {"reason": "InvalidModel"},
        )
    return names, data


class MlflowUnavailable(ServiceUnavailable):
    """MLflow answered with an error of its own (5xx, 429): try again later."""

    code = "mlflow_unavailable"


class MlflowUnreachable(MlflowUnavailable):
    """No answer at all (connection refused, timeout): every organization is affected."""


class MlflowRefused(MlflowUnavailable):
    """MLflow refused the request itself (a 4xx other than 429): retrying soon will not help."""


def mirror_outcome(exc: ServiceUnavailable) -> MirrorOutcome:
    """How MLflow failed: it refused the request, answered unavailable, or did not answer (or
    none is configured)."""
    if isinstance(exc, MlflowRefused):
        return "refused"
    if isinstance(exc, MlflowUnavailable) and not isinstance(exc, MlflowUnreachable):
        return "unavailable"
    return "unreachable"


def retry_after(outcome: MirrorOutcome, attempts: int) -> timedelta:
    """When to try again: an hour after a refusal (retrying soon will not help); after an
    outage 5 s × 2^attempts, at most 30 minutes."""
    if outcome == "refused":
        return MIRROR_REFUSED_RETRY
    return min(timedelta(seconds=5 * 2 ** min(attempts, 12)), MIRROR_MAX_BACKOFF)


class MirrorRetry(Protocol):
    """A row MLflow has to take (a version to mirror, an organization's workspace): why it did
    not yet and when to try again."""

    mlflow_attempts: int
    mlflow_error: str | None
    mlflow_next_attempt_at: datetime | None


def note_failure(row: MirrorRetry, exc: ServiceUnavailable, now: datetime) -> MirrorOutcome:
    """Keep on the row why MLflow did not take it and when to try again; how MLflow failed."""
    outcome = mirror_outcome(exc)
    row.mlflow_attempts += 1
    row.mlflow_error = exc.message[:2000]
    row.mlflow_next_attempt_at = now + retry_after(outcome, row.mlflow_attempts)
    return outcome


def mlflow_auth(token: str | None) -> dict[str, str]:
    """The facade's own credential for MLflow (`Settings.mlflow_token`) as a request header."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error_code", ""))
    except ValueError:
        return ""


class HttpRegistryMirror:
    """RegistryMirror over MLflow's REST API (workspaces enabled on the server)."""

    def __init__(self, base_url: str, timeout: float = 10.0, token: str | None = None) -> None:
        self._base_url, self._timeout = base_url.rstrip("/"), timeout
        self._headers = mlflow_auth(token)
        self._pool: httpx.AsyncClient | None = None
        self._workspaces: set[str] = set()
        self._models: set[tuple[str, str]] = set()
        """(workspace, name) known to exist: each is created once per process."""

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    @property
    def _client(self) -> httpx.AsyncClient:
        """The connection pool, opened on first use (again after `aclose`: an app's lifespan
        may end and start again, as under a test client, while the mirror lives on)."""
        if self._pool is None or self._pool.is_closed:
            self._pool = httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, headers=self._headers
            )
        return self._pool

    async def _call(
        self, workspace: str | None, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {WORKSPACE_HEADER: workspace} if workspace else {}
        try:
            return await self._client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise MlflowUnreachable(f"MLflow unreachable: {type(exc).__name__}") from exc

    def _check(self, response: httpx.Response, what: str, *ok_codes: str) -> None:
        if response.is_success or _error_code(response) in ok_codes:
            return
        message = f"MLflow refused {what}: {response.status_code} {response.text[:300]}"
        # 401: MLflow refused the facade's own token, a configuration to fix, not the call.
        if response.is_client_error and response.status_code not in (401, 429):
            raise MlflowRefused(message)
        raise MlflowUnavailable(message)

    async def ensure_workspace(self, workspace: str) -> None:
        """Create the workspace once per process (an existing one is fine)."""
        if workspace in self._workspaces:
            return
        response = await self._call(None, "POST", "/api/3.0/mlflow/workspaces", {"name": workspace})
        self._check(response, f"creating workspace {workspace}", "RESOURCE_ALREADY_EXISTS")
        self._workspaces.add(workspace)

    async def ensure_model(self, workspace: str, name: str, description: str) -> None:
        """The registered model exists in the workspace (created when missing)."""
        if (workspace, name) in self._models:
            return
        await self.ensure_workspace(workspace)
        response = await self._call(
            workspace,
            "POST",
            "/api/2.0/mlflow/registered-models/create",
            {
                "name": name,
                "description": description,
                "tags": [{"key": "modelplane.io/managed-by", "value": "modelplane-api"}],
            },
        )
        self._check(response, f"creating registered model {name}", "RESOURCE_ALREADY_EXISTS")
        self._models.add((workspace, name))

    async def add_version(
        self, workspace: str, name: str, source: str, description: str, tags: dict[str, str]
    ) -> str:
        """Create a model version; its MLflow version number. A registered model (or workspace)
        deleted in MLflow since this process created it is created again, not hidden by the
        cache."""
        body = {
            "name": name,
            "source": source,
            "description": description,
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        }
        await self.ensure_model(workspace, name, "")
        path = "/api/2.0/mlflow/model-versions/create"
        response = await self._call(workspace, "POST", path, body)
        if _error_code(response) == "RESOURCE_DOES_NOT_EXIST":
            self._models.discard((workspace, name))
            self._workspaces.discard(workspace)
            await self.ensure_model(workspace, name, "")
            response = await self._call(workspace, "POST", path, body)
        self._check(response, f"creating a version of {name}")
        return str(response.json()["model_version"]["version"])

    async def set_alias(self, workspace: str, name: str, alias: str, version: str | None) -> None:
        """Point `alias` of a registered model at `version`; None removes the alias (a missing
        alias or model is fine then)."""
        path = "/api/2.0/mlflow/registered-models/alias"
        if version is None:
            response = await self._call(workspace, "DELETE", path, {"name": name, "alias": alias})
            self._check(response, f"removing alias {alias} of {name}", "RESOURCE_DOES_NOT_EXIST")
            return
        body = {"name": name, "alias": alias, "version": version}
        response = await self._call(workspace, "POST", path, body)
        self._check(response, f"setting alias {alias} of {name} to version {version}")

    async def _get_json(self, workspace: str, path: str, **params: str) -> dict[str, Any] | None:
        response = await self._client_get(workspace, path, params)
        if response.status_code == 404 or _error_code(response) in (
            "RESOURCE_DOES_NOT_EXIST",
            "INVALID_PARAMETER_VALUE",
        ):
            return None
        self._check(response, f"GET {path}")
        body: dict[str, Any] = response.json()
        return body

    async def _client_get(
        self, workspace: str, path: str, params: dict[str, str]
    ) -> httpx.Response:
        try:
            return await self._client.get(
                path, params=params, headers={WORKSPACE_HEADER: workspace}
            )
        except httpx.HTTPError as exc:
            raise MlflowUnreachable(f"MLflow unreachable: {type(exc).__name__}") from exc

    async def _artifact_roots(self, workspace: str, run_id: str) -> list[str]:
        """Where the run's models may be: its artifacts, then its logged models (MLflow 3)."""
        found = await self._get_json(workspace, "/api/2.0/mlflow/runs/get", run_id=run_id)
        if found is None:
            raise NotFound(f"run {run_id} not found in this organization's MLflow")
        run = found["run"]
        roots = [str(run["info"]["artifact_uri"])]
        for output in (run.get("outputs") or {}).get("model_outputs") or []:
            logged = await self._get_json(
                workspace, f"/api/2.0/mlflow/logged-models/{output['model_id']}"
            )
            if logged is not None:
                roots.append(str(logged["model"]["info"]["artifact_uri"]))
        return roots

    async def find_run_model(self, workspace: str, run_id: str, path: str) -> RunModel:
        """The ONNX file of the model logged at `path` in a run of the workspace."""
        for root in await self._artifact_roots(workspace, run_id):
            if not root.startswith(PROXIED):
                continue  # only the server's own (proxied) store is read, never a client URI
            base = root.removeprefix(PROXIED).strip("/")
            for folder in dict.fromkeys([f"{base}/{path}".rstrip("/"), base]):
                text = await self._read_small(workspace, f"{folder}/MLmodel", MLMODEL_MAX_BYTES)
                if text is None:
                    continue
                flavors, data = parse_mlmodel(text, f"the model at {path!r} of run {run_id}")
                return RunModel(f"{folder}/{data}", flavors)
        raise NotFound(f"no MLflow model at {path!r} in run {run_id}")

    async def _read_small(self, workspace: str, artifact_path: str, limit: int) -> bytes | None:
        """A small artifact's bytes, None when it is absent; InvalidModel beyond `limit` (read
        in chunks, so an oversized file is never held whole)."""
        with tempfile.SpooledTemporaryFile(max_size=limit + 1) as sink:
            try:
                size = await self.download(workspace, artifact_path, sink, limit)
            except NotFound:
                return None
            except PayloadTooLarge as exc:
                raise InvalidModel(
                    f"{artifact_path.rsplit('/', 1)[-1]} is larger than {limit} bytes",
                    {"reason": "InvalidModel"},
                ) from exc
            sink.seek(0)
            return sink.read(size)

    async def download(
        self, workspace: str, artifact_path: str, sink: IO[bytes], limit: int
    ) -> int:
        """Stream an artifact into `sink`; its size (PayloadTooLarge beyond `limit`)."""
        size = 0
        try:
            async with self._client.stream(
                "GET", f"{ARTIFACTS}/{artifact_path}", headers={WORKSPACE_HEADER: workspace}
            ) as response:
                if response.status_code != 200:
                    raise NotFound(f"artifact {artifact_path} not found in MLflow")
                async for chunk in response.aiter_bytes(1024 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(
                            f"the run's model is more than the limit of {limit} bytes",
                            {"limit": limit},
                        )
                    sink.write(chunk)
        except httpx.HTTPError as exc:
            raise MlflowUnreachable(f"MLflow unreachable: {type(exc).__name__}") from exc
        return size
