"""The command line (`python -m modelplane_api`) and the JSON log format."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from modelplane_api.__main__ import main
from modelplane_api.envelope import request_id_var
from modelplane_api.logs import JsonFormatter
from modelplane_api.security import generate_jwt_key
from modelplane_api.settings import JwtKey, get_settings


def test_keygen_prints_a_usable_key_ring_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--kid", "2026-11"]) == 0
    key = JwtKey.model_validate(json.loads(capsys.readouterr().out))
    assert (key.kid, key.algorithm) == ("2026-11", "EdDSA")


def test_missing_configuration_exits_2_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("MODELPLANE_API_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    assert main(["migrate"]) == 2
    assert "MODELPLANE_API_" in capsys.readouterr().err
    get_settings.cache_clear()


def test_log_lines_are_json_with_the_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        record = logging.makeLogRecord(
            {
                "msg": "request",
                "levelname": "INFO",
                "name": "x",
                "status": 200,
                "endpoint": "/health",
            }
        )
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-42"
    assert line["status"] == 200
    assert line["endpoint"] == "/health"
    assert line["message"] == "request"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_migrates_and_answers_ready(migrated_url: str, redis_url: str) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "MODELPLANE_API_DATABASE_URL": migrated_url,
        "MODELPLANE_API_REDIS_URL": redis_url,
        "MODELPLANE_API_KUBERNETES_ENABLED": "false",
        "MODELPLANE_API_JWT_KEYS": f"[{generate_jwt_key('cli')}]",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "modelplane_api", "serve", "--migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert ready is not None, "server never answered"
        assert ready.status_code == 200
        assert ready.json()["data"]["checks"] == {"postgres": "ok", "redis": "ok"}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    access = [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith("{") and '"endpoint"' in line
    ]
    assert any(entry["endpoint"] == "/ready" and entry["status"] == 200 for entry in access)
