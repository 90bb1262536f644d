"""A credential in front of the MLflow tracking server: `mlflow server --app-name modelplane`.

MLflow's workspaces are no boundary on their own (any caller may name one in
`X-MLFLOW-WORKSPACE`), so the facade, which overwrites that header and checks roles, must be the
only way in. In a cluster a NetworkPolicy does it (manifests/mlflow-access); on one machine
MLflow is a process on loopback that pods reach at the node's bridge address, where any local
process or pod could call it. This ASGI wrapper around MLflow's own app (registered under the
`mlflow.app` entry point, so `mlflow server` still migrates the store and sets itself up) lets a
call through only with a bearer token from the server's environment:

- `MODELPLANE_MLFLOW_TOKEN`: the facade's and the operator's, for every API;
- `MODELPLANE_MLFLOW_READER_TOKEN` (optional): the serving pods', for `GET
  /model-versions/get-artifact` only and always in the default workspace (any
  `X-MLFLOW-WORKSPACE` removed), where the operator verifies `models:/` artifacts.

Anything else gets 401 (no or an unknown token) or 403 (the reader token elsewhere); `/health`
and `/version` stay open for probes. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "MODELPLANE_MLFLOW_TOKEN"  # noqa: S105 - the variable's name
READER_TOKEN_ENV = "MODELPLANE_MLFLOW_READER_TOKEN"  # noqa: S105 - the variable's name
STATIC_PREFIX_ENV = "_MLFLOW_STATIC_PREFIX"
"""Where `mlflow server --static-prefix` puts its prefix for the workers."""
MIN_TOKEN_CHARS = 32
OPEN_PATHS = frozenset({"/health", "/version"})
READER_PATHS = frozenset({"/model-versions/get-artifact"})
READER_METHODS = frozenset({"GET", "HEAD"})
WORKSPACE_HEADER = b"x-mlflow-workspace"


class GuardConfigError(RuntimeError):
    """The server was started without a usable token: it refuses to serve."""


def _checked(name: str, token: str | None, required: bool) -> bytes | None:
    if not token:
        if required:
            raise GuardConfigError(f"{name} is not set: MLflow would be open to every caller")
        return None
    if len(token) < MIN_TOKEN_CHARS:
        raise GuardConfigError(f"{name} must be at least {MIN_TOKEN_CHARS} characters")
    return token.encode()


def _bearer(scope: Scope) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, token = bytes(value).partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" and token.strip() else None
    return None


async def _refuse(send: Send, status: int, message: str) -> None:
    code = "UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED"
    body = json.dumps({"error_code": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="mlflow"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TokenGuard:
    """The ASGI middleware: one service token for everything, an optional reader token for
    model-version artifact downloads in the default workspace."""

    def __init__(
        self, app: AsgiApp, token: str | None, reader_token: str | None = None, prefix: str = ""
    ) -> None:
        self.app = app
        self._token = _checked(TOKEN_ENV, token, required=True)
        self._reader = _checked(READER_TOKEN_ENV, reader_token, required=False)
        if self._reader is not None and hmac.compare_digest(self._reader, self._token or b""):
            raise GuardConfigError(f"{READER_TOKEN_ENV} must differ from {TOKEN_ENV}")
        self._prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
        elif scope["type"] != "http":  # MLflow serves no websockets; nothing else passes
            await send({"type": "websocket.close", "code": 1008})
        else:
            decided = self._decide(scope)
            if isinstance(decided, tuple):
                await _refuse(send, *decided)
            else:
                await self.app(decided, receive, send)

    def _decide(self, scope: Scope) -> Scope | tuple[int, str]:
        """The scope MLflow gets, or the refusal's status and message."""
        path = str(scope["path"])
        if self._prefix and path.startswith(self._prefix + "/"):
            path = path[len(self._prefix) :]
        presented = _bearer(scope)
        if path in OPEN_PATHS or (
            presented is not None and hmac.compare_digest(presented, self._token or b"")
        ):
            return scope
        if presented is None or not (
            self._reader is not None and hmac.compare_digest(presented, self._reader)
        ):
            return 401, "MLflow is reached through Modelplane only"
        if scope["method"] not in READER_METHODS or path not in READER_PATHS:
            return 403, "this token downloads model-version artifacts only"
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != WORKSPACE_HEADER]
        return {**scope, "headers": headers}


def create_app() -> AsgiApp:
    """MLflow's FastAPI app behind the guard (the `mlflow.app` entry point, a factory so the
    `mlflow server` command can import this module without building MLflow's app)."""
    from mlflow.server.fastapi_app import app

    return TokenGuard(
        app,
        os.environ.get(TOKEN_ENV),
        os.environ.get(READER_TOKEN_ENV),
        os.environ.get(STATIC_PREFIX_ENV, ""),
    )
