"""The token guard in front of the local MLflow server (`modelplane_cli.mlflow_guard`): the
rules on their own, around a small ASGI app that records what reached it; the real server behind
the guard is tested in tests/integration/test_mlflow_guard.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from modelplane_cli.mlflow_guard import GuardConfigError, Message, Scope, TokenGuard

TOKEN, READER = "s" * 40, "r" * 40


class Recorder:
    """Answers 200 and keeps the scope of every request that reached it."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(guard: TokenGuard) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://mlflow")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_call_without_the_token_is_refused_before_mlflow() -> None:
    inner = Recorder()
    async with _client(TokenGuard(inner, TOKEN, READER)) as client:
        for headers in ({}, _bearer("x" * 40), _bearer(TOKEN[:-1]), {"Authorization": TOKEN}):
            answer = await client.get("/api/2.0/mlflow/experiments/search", headers=headers)
            assert answer.status_code == 401, headers
            assert answer.json()["error_code"] == "UNAUTHENTICATED"
            assert answer.headers["www-authenticate"].startswith("Bearer")
    assert inner.scopes == []


async def test_the_service_token_passes_every_api_with_its_workspace() -> None:
    inner = Recorder()
    async with _client(TokenGuard(inner, TOKEN, READER)) as client:
        headers = {**_bearer(TOKEN), "X-MLFLOW-WORKSPACE": "mp-acme"}
        for method, path in (("POST", "/api/2.0/mlflow/runs/create"), ("GET", "/ajax-api/x")):
            answer = await client.request(method, path, headers=headers)
            assert answer.status_code == 200
    assert [dict(s["headers"])[b"x-mlflow-workspace"] for s in inner.scopes] == [b"mp-acme"] * 2


async def test_the_reader_token_downloads_artifacts_of_the_default_workspace_only() -> None:
    inner = Recorder()
    async with _client(TokenGuard(inner, TOKEN, READER)) as client:
        forged = {**_bearer(READER), "X-MLFLOW-WORKSPACE": "mp-other"}
        got = await client.get("/model-versions/get-artifact?name=m&version=1", headers=forged)
        assert got.status_code == 200
        for method, path in (
            ("GET", "/api/2.0/mlflow/registered-models/search"),
            ("POST", "/model-versions/get-artifact"),
            ("GET", "/model-versions/get-artifact/"),
            ("GET", "/api/3.0/mlflow/workspaces"),
        ):
            refused = await client.request(method, path, headers=forged)
            assert refused.status_code == 403, (method, path)
    assert len(inner.scopes) == 1
    assert b"x-mlflow-workspace" not in dict(inner.scopes[0]["headers"])


async def test_probes_are_open_and_a_static_prefix_is_understood() -> None:
    inner = Recorder()
    async with _client(TokenGuard(inner, TOKEN, READER, prefix="/mlflow/")) as client:
        assert (await client.get("/mlflow/health")).status_code == 200
        assert (await client.get("/mlflow/version")).status_code == 200
        assert (await client.get("/mlflow/api/2.0/mlflow/experiments/search")).status_code == 401
        got = await client.get("/mlflow/model-versions/get-artifact", headers=_bearer(READER))
        assert got.status_code == 200
    assert len(inner.scopes) == 3


async def test_without_a_reader_token_only_the_service_token_passes() -> None:
    inner = Recorder()
    async with _client(TokenGuard(inner, TOKEN)) as client:
        got = await client.get("/model-versions/get-artifact", headers=_bearer(READER))
        assert got.status_code == 401
    assert inner.scopes == []


async def test_websockets_are_closed_before_mlflow() -> None:
    inner = Recorder()
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    guard = TokenGuard(inner, TOKEN)
    await guard({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert inner.scopes == []


@pytest.mark.parametrize(
    ("token", "reader"),
    [(None, None), ("", None), ("short", None), (TOKEN, "short"), (TOKEN, TOKEN)],
)
def test_a_missing_short_or_shared_token_refuses_to_start(
    token: str | None, reader: str | None
) -> None:
    with pytest.raises(GuardConfigError):
        TokenGuard(Recorder(), token, reader)
