"""Fixtures of the serving-runtime tests: settings for tiny models, in-process apps, real servers.

`make_settings` writes a model built by `tests.onnx_models` to `tmp_path` and returns settings
whose URI, digest and signature match it. `app_client` serves it in-process through httpx's ASGI
transport; `RuntimeProcess` runs the real `python -m modelplane_runtime` on a free loopback port.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import onnx
import pytest

from modelplane_runtime.app import create_app, load_model
from modelplane_runtime.payload_log import Upload
from modelplane_runtime.rest import RestApp
from modelplane_runtime.settings import RuntimeSettings
from tests.onnx_models import linear_model, mixed_input_model, signature_of, write_model

REPO_ROOT = Path(__file__).resolve().parents[2]
SettingsFactory = Callable[..., RuntimeSettings]


def settings_env(settings: RuntimeSettings) -> dict[str, str]:
    """The `MODELPLANE_RUNTIME_*` environment that reproduces `settings` in a subprocess."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        key = f"MODELPLANE_RUNTIME_{name.upper()}"
        env[key] = value if isinstance(value, str) else json.dumps(value)
    return env


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Build settings for a model written to `tmp_path` (overrides as keyword arguments)."""

    def make(model: onnx.ModelProto | None = None, **overrides: Any) -> RuntimeSettings:
        model = model if model is not None else linear_model(4)
        path, digest = write_model(model, tmp_path / "model.onnx")
        values: dict[str, Any] = {
            "model_name": "demo",
            "model_version": "3",
            "model_uri": path.as_uri(),
            "model_sha256": digest,
            "signature": signature_of(model),
            "cache_dir": tmp_path / "cache",
            "host": "127.0.0.1",
        }
        values.update(overrides)
        return RuntimeSettings(**values)

    return make


async def open_client(
    settings: RuntimeSettings, upload: Upload | None = None
) -> tuple[RestApp, httpx.AsyncClient]:
    """An in-process app for `settings` and an httpx client bound to it."""
    app = create_app(settings, load_model(settings), upload)
    assert app.on_startup is not None
    await app.on_startup()
    transport = httpx.ASGITransport(app=app)
    return app, httpx.AsyncClient(transport=transport, base_url="http://runtime")


@pytest.fixture
async def mixed_client(make_settings: SettingsFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an in-process server of the mixed-input model (name `demo`, version `3`)."""
    app, client = await open_client(make_settings(mixed_input_model()))
    async with client:
        yield client
    assert app.on_shutdown is not None
    await app.on_shutdown()


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RuntimeProcess:
    """The real `python -m modelplane_runtime` in a subprocess."""

    def __init__(
        self, settings: RuntimeSettings, log_path: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPLANE_RUNTIME_")}
        env.update(settings_env(settings))
        env.update({"MODELPLANE_RUNTIME_PORT": str(self.port), **(extra_env or {})})
        self.log_path = log_path
        self._signalled = False
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelplane_runtime"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until `/v2/health/ready` answers 200 (or fail with the log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runtime exited {self.process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"runtime not ready after {timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        """Everything the process logged so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines."""
        return [json.loads(line) for line in self.logs().splitlines() if line.startswith("{")]

    def sigterm(self) -> None:
        """Send SIGTERM once (a second one would make uvicorn skip the graceful drain)."""
        if not self._signalled and self.process.poll() is None:
            self._signalled = True
            self.process.send_signal(signal.SIGTERM)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM (unless already sent) and wait; returns the exit code."""
        self.sigterm()
        code = self.process.wait(timeout)
        self._log.close()
        return code


@pytest.fixture
def runtime_process(tmp_path: Path) -> Iterator[Callable[..., RuntimeProcess]]:
    """Start real runtime processes; each is stopped at the end of the test."""
    started: list[RuntimeProcess] = []

    def start(settings: RuntimeSettings, **extra_env: str) -> RuntimeProcess:
        proc = RuntimeProcess(settings, tmp_path / f"runtime-{len(started)}.log", extra_env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.process.poll() is None:
            proc.process.kill()
            proc.process.wait(10)


def metric_value(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly these labels in a Prometheus text scrape."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None
