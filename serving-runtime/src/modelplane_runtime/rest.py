"""The HTTP edge: a plain ASGI application that routes OIP v2 REST calls to the data plane.

No framework sits between uvicorn and the data plane: routing is a split of the path, bodies
are read with a size cap, JSON is orjson. This layer is where small-model latency goes
(performance.md), so it stays this thin; all decisions live in `dataplane.py`.
Errors become `{"error": "<message>"}` with the error's status code; anything unexpected is
logged with its traceback and answered 500, never a dropped connection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from modelplane_runtime.dataplane import DataPlane
from modelplane_runtime.errors import (
    InvalidRequest,
    MethodNotAllowed,
    ModelplaneRuntimeError,
    RouteNotFound,
)
from modelplane_runtime.protocol import dump, parse_infer_request
from modelplane_runtime.shadow import SHADOW_HEADER, ShadowMirror

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("modelplane_runtime.rest")
_JSON = [(b"content-type", b"application/json")]
_METRICS_TYPE = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
_LIVE = dump({"live": True})
_SHADOW_HEADER = SHADOW_HEADER.encode()


async def _send(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] = _JSON
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _infer_headers(scope: Scope, limit: int) -> tuple[int | None, str | None, bool]:
    """One pass over the headers: size check, binary-extension length, `x-request-id`, and
    whether this is a shadow copy from another variant's pod."""
    json_length: int | None = None
    request_id: str | None = None
    shadow_copy = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise InvalidRequest(
                    f"request body of {int(value)} bytes is larger than the limit of {limit} bytes",
                    violation="body_too_large",
                )
        elif name == b"inference-header-content-length":
            if not value.isdigit():
                raise InvalidRequest(
                    "Inference-Header-Content-Length must be an integer",
                    violation="malformed_request",
                )
            json_length = int(value)
        elif name == b"x-request-id":
            request_id = value.decode("latin-1")
        elif name == _SHADOW_HEADER:
            shadow_copy = True
    return json_length, request_id, shadow_copy


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise InvalidRequest("client disconnected", violation="disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise InvalidRequest(
                f"request body is larger than the limit of {limit} bytes",
                violation="body_too_large",
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class RestApp:
    """ASGI application for one data plane (`create_app` builds it)."""

    def __init__(
        self,
        dataplane: DataPlane,
        on_startup: Callable[[], Awaitable[None]] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        mirror: ShadowMirror | None = None,
    ) -> None:
        self.dataplane = dataplane
        self.mirror = mirror
        self._error_headers = [*_JSON, (b"x-model-version", dataplane.version.encode())]
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.max_body = dataplane.settings.max_body_bytes
        self.access_log = dataplane.settings.access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.on_startup is not None:
                    await self.on_startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.on_shutdown is not None:
                    await self.on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if method == "POST" and path.endswith("/infer"):
            await self._infer(scope, receive, send, path)
            return
        try:
            status, body, headers = self._get(method, path)
        except ModelplaneRuntimeError as exc:
            status, body, headers = exc.status_code, dump({"error": exc.message}), _JSON
        await _send(send, status, body, headers)

    def _get(self, method: str, path: str) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        dataplane = self.dataplane
        if method not in ("GET", "HEAD"):
            if path.endswith("/infer") or path.startswith(("/v2", "/health", "/ready")):
                raise MethodNotAllowed(f"{method} is not allowed on {path}")
            raise RouteNotFound(f"no route {method} {path}")
        if path in ("/v2/health/live", "/health"):
            return 200, _LIVE, _JSON
        if path in ("/v2/health/ready", "/ready"):
            ready = dataplane.ready
            return (200 if ready else 503), dump({"ready": ready}), _JSON
        if path == "/metrics":
            return 200, dataplane.metrics.render(), _METRICS_TYPE
        if path == "/v2":
            return 200, dump(dataplane.server_metadata()), _JSON
        name, version, action = _model_route(path)
        if action == "":
            return 200, dump(dataplane.model_metadata(name, version)), _JSON
        if action == "ready":
            ready = dataplane.model_ready(name, version)
            return (200 if ready else 503), dump({"name": name, "ready": ready}), _JSON
        if action == "infer":
            raise MethodNotAllowed(f"{method} is not allowed on {path}; use POST")
        raise RouteNotFound(f"no route {method} {path}")

    async def _infer(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        start = time.perf_counter()
        dataplane = self.dataplane
        request_id: str | None = None
        try:
            name, version, action = _model_route(path)
            if action != "infer":
                raise RouteNotFound(f"no route POST {path}")
            json_length, header_id, shadow_copy = _infer_headers(scope, self.max_body)
            if shadow_copy:  # a copy of a request another version answered: serve it as ours
                name, version = dataplane.name, None
            body = await _read_body(receive, self.max_body)
            request = parse_infer_request(body, json_length)
            request_id = request.id or header_id
            response, blobs = await dataplane.infer(name, version, request, request_id)
        except ModelplaneRuntimeError as exc:
            if isinstance(exc, InvalidRequest) and exc.violation in (
                "body_too_large",
                "malformed_json",
                "malformed_request",
            ):
                dataplane.metrics.count_violation(exc.violation)
            await self._fail(send, exc, start, request_id, path)
            return
        except Exception as exc:  # a bug: log it with its traceback, answer 500
            log.exception("unexpected error", extra={"request_id": request_id, "path": path})
            await self._fail(
                send, ModelplaneRuntimeError(f"internal error: {exc}"), start, request_id, path
            )
            return
        if blobs:
            header = dump(response)
            await _send(
                send,
                200,
                b"".join([header, *blobs]),
                [
                    (b"content-type", b"application/octet-stream"),
                    (b"inference-header-content-length", str(len(header)).encode()),
                ],
            )
        else:
            await _send(send, 200, dump(response))
            if self.mirror is not None and not shadow_copy and json_length is None:
                self.mirror.offer(name, body, response["outputs"])
        elapsed = time.perf_counter() - start
        dataplane.metrics.count_request(200, elapsed)
        if self.access_log:
            log.info(
                "inference",
                extra={
                    "request_id": request_id,
                    "status": 200,
                    "latency_ms": round(elapsed * 1000, 3),
                },
            )

    async def _fail(
        self,
        send: Send,
        exc: ModelplaneRuntimeError,
        start: float,
        request_id: str | None,
        path: str,
    ) -> None:
        await _send(send, exc.status_code, dump({"error": exc.message}), self._error_headers)
        elapsed = time.perf_counter() - start
        self.dataplane.metrics.count_request(exc.status_code, elapsed)
        level = logging.ERROR if exc.status_code >= 500 else logging.INFO
        log.log(
            level,
            "inference refused",
            extra={
                "request_id": request_id,
                "status": exc.status_code,
                "path": path,
                "error": exc.message,
                "latency_ms": round(elapsed * 1000, 3),
            },
        )


def _model_route(path: str) -> tuple[str, str | None, str]:
    """Split `/v2/models/{name}[/versions/{v}][/ready|/infer]` into (name, version, action)."""
    parts = path.split("/")
    if len(parts) < 4 or parts[1] != "v2" or parts[2] != "models" or not parts[3]:
        raise RouteNotFound(f"no route for {path}")
    name, rest = parts[3], parts[4:]
    version = None
    if len(rest) >= 2 and rest[0] == "versions" and rest[1]:
        version, rest = rest[1], rest[2:]
    if not rest:
        return name, version, ""
    if len(rest) == 1 and rest[0] in ("ready", "infer"):
        return name, version, rest[0]
    raise RouteNotFound(f"no route for {path}")
