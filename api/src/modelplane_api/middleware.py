"""Outermost ASGI middleware: request id, body-size cap, access log, metrics, last-resort 500.

The request id comes from `X-Request-ID` when it is a sane token, otherwise a new one; it is set
in a context variable (the envelope and every log line read it) and echoed in the response
header. An exception that escaped everything else becomes a 500 envelope with no stack trace (the
trace goes to the log), and its failed mutating request is still audited.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelplane_api.audit.recorder import record_failure
from modelplane_api.envelope import error_body, request_id_var
from modelplane_api.responses import json_bytes

log = logging.getLogger("modelplane_api.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """See the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        route_paths: dict[int, str | None] | None = None,
        upload_paths: tuple[re.Pattern[str], ...] = (),
        max_upload_bytes: int = 0,
        inference_paths: tuple[re.Pattern[str], ...] = (),
        max_inference_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.route_paths = route_paths or {}
        self.upload_paths = upload_paths
        self.max_upload_bytes = max_upload_bytes
        self.inference_paths = inference_paths
        self.max_inference_bytes = max_inference_bytes

    def body_limit(self, scope: Scope) -> int:
        """The largest body this request may send: uploads (POST, or PUT of an MLflow artifact)
        and inference have their own."""
        if scope.get("method") not in ("POST", "PUT"):
            return self.max_body_bytes
        path = scope.get("path", "")
        if any(p.match(path) for p in self.upload_paths):
            return max(self.max_upload_bytes, self.max_body_bytes)
        if any(p.match(path) for p in self.inference_paths):
            return self.max_inference_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = {"code": 500, "sent": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        limit = self.body_limit(scope)
        received = 0

        async def counting_receive() -> Message:
            # Content-Length can be absent (chunked) or wrong: count what actually arrives and
            # stop the parser with a 413 (an HTTPException, which FastAPI passes through).
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise StarletteHTTPException(413, f"request body larger than {limit} bytes")
            return message

        try:
            length = headers.get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > limit):
                await _send_error(
                    send_wrapper,
                    413,
                    "payload_too_large",
                    f"request body larger than {limit} bytes",
                )
                return
            await self.app(scope, counting_receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", extra=self._fields(scope, 500, started))
            await record_failure(
                HTTPConnection(scope), scope["app"].state.ctx.sessions, 500, "internal_error"
            )
            if not status["sent"]:
                await _send_error(send_wrapper, 500, "internal_error", "internal server error")
        finally:
            fields = self._fields(scope, int(status["code"]), started)
            log.info("request", extra=fields)
            metrics = scope["app"].state.ctx.metrics
            metrics.requests.labels(fields["method"], fields["endpoint"], fields["status"]).inc()
            metrics.latency.labels(fields["method"], fields["endpoint"]).observe(
                fields["latency_ms"] / 1000
            )
            request_id_var.reset(token)

    def _fields(self, scope: Scope, status: int, started: float) -> dict[str, Any]:
        route = scope.get("route")
        state = scope.get("state") or {}
        principal = state.get("principal")
        endpoint = self.route_paths.get(id(route)) if route is not None else None
        return {
            "method": scope.get("method", ""),
            "endpoint": endpoint or "unmatched",
            "status": status,
            "user_id": str(principal.id) if principal is not None else None,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        }


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json_bytes(error_body(code, message))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
