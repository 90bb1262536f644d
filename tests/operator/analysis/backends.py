"""Real backends for the analysis tests: serving-runtime processes and a Prometheus server.

Both run as child processes in their own process group on free loopback ports, and are stopped
(the whole group, SIGTERM then SIGKILL) when the test ends. Prometheus is Debian's
`/usr/bin/prometheus` with a generated config: static scrape targets, a 1 s scrape interval and
a temporary storage directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

from tests.onnx_models import signature_of, write_model

REPO_ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = Path("/usr/bin/prometheus")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def failing_model(n_features: int = 4) -> onnx.ModelProto:
    """Loads and declares FP32 `x` [-1, n] → `y` [3, 7], but every run fails inside
    onnxruntime (a Reshape of n·batch values into 21): each request is answered with a 500."""
    shape = numpy_helper.from_array(np.array([3, 7], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "failing",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 7])],
        initializer=[shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def _stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class Runtime:
    """`python -m modelplane_runtime` serving one model on a free loopback port."""

    def __init__(self, model: onnx.ModelProto, name: str, version: str, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path, digest = write_model(model, directory / "model.onnx")
        import json

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name, self.version = name, version
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPLANE_RUNTIME_")}
        env.update(
            {
                "MODELPLANE_RUNTIME_MODEL_NAME": name,
                "MODELPLANE_RUNTIME_MODEL_VERSION": version,
                "MODELPLANE_RUNTIME_MODEL_URI": path.as_uri(),
                "MODELPLANE_RUNTIME_MODEL_SHA256": digest,
                "MODELPLANE_RUNTIME_SIGNATURE": json.dumps(signature_of(model)),
                "MODELPLANE_RUNTIME_CACHE_DIR": str(directory / "cache"),
                "MODELPLANE_RUNTIME_HOST": "127.0.0.1",
                "MODELPLANE_RUNTIME_PORT": str(self.port),
            }
        )
        self.log = (directory / "runtime.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelplane_runtime"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
        self.directory = directory

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until `/v2/health/ready` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runtime exited: {self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"runtime not ready: {self.logs()}")

    def logs(self) -> str:
        """What the process printed."""
        self.log.flush()
        return (self.directory / "runtime.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the process group."""
        _stop(self.process)
        self.log.close()


def send(runtimes: list[tuple[Runtime, int]], n_features: int = 4, rounds: int = 1) -> None:
    """Send requests to each runtime (`count` each per round): one row of random features."""
    rng = np.random.default_rng(7)
    with httpx.Client(timeout=10) as client:
        for _ in range(rounds):
            for runtime, count in runtimes:
                for _ in range(count):
                    body = {
                        "inputs": [
                            {
                                "name": "x",
                                "datatype": "FP32",
                                "shape": [1, n_features],
                                "data": rng.normal(size=n_features).round(4).tolist(),
                            }
                        ]
                    }
                    client.post(f"{runtime.url}/v2/models/{runtime.name}/infer", json=body)


class Prometheus:
    """Debian's Prometheus scraping static loopback targets every second."""

    def __init__(
        self,
        targets: list[str],
        directory: Path,
        labelled: Sequence[tuple[str, Mapping[str, str]]] = (),
    ) -> None:
        """Scrape `targets` as they are, and each `(target, labels)` of `labelled` with those
        target labels (as Kubernetes discovery would give a serving pod)."""
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = directory / "prometheus.yml"
        groups: list[dict[str, Any]] = [{"targets": list(targets)}] if targets else []
        groups += [{"targets": [target], "labels": dict(labels)} for target, labels in labelled]
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [{"job_name": "runtimes", "static_configs": groups}],
                }
            )
        )
        self.log = (directory / "prometheus.log").open("wb")
        self.directory = directory
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until `/-/ready` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready: {self.logs()}")

    def wait_scraped(self, job_targets: int, timeout: float = 30.0) -> None:
        """Block until every target has been scraped successfully at least once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = httpx.get(f"{self.url}/api/v1/targets", timeout=2).json()
            active = body["data"]["activeTargets"]
            if len(active) == job_targets and all(t["health"] == "up" for t in active):
                return
            time.sleep(0.3)
        raise AssertionError(f"targets not up: {body}")

    def logs(self) -> str:
        """What Prometheus printed."""
        self.log.flush()
        return (self.directory / "prometheus.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Stop the process group."""
        _stop(self.process)
        self.log.close()


@contextlib.contextmanager
def running(*things: Runtime | Prometheus) -> Iterator[None]:
    """Stop every process at the end, whatever happens."""
    try:
        yield
    finally:
        for thing in things:
            thing.stop()
