"""Serving-runtime benchmark: `python -m tests.bench.runtime` (what `make bench-runtime` runs).

One model (logistic regression, 20 FP32 features, built at run time), one load generator
(`tests/bench/loadgen.py`, a closed-loop raw-HTTP client in its own process), three
systems:
  raw      onnxruntime `session.run` in this process: the limit, no HTTP at all;
  ours     `python -m modelplane_runtime` (uvicorn + uvloop + httptools, inline inference);
  mlserver MLServer from PyPI in `.run/bench-venv` with a custom ONNX runtime class
           (`peer_runtime.py`, `parallel_workers: 0` — its fastest setting for tiny models);
  kserve   KServe's Python model server (`kserve` from PyPI) in `.run/bench-kserve-venv`, v2
           protocol, a custom `kserve.Model` around onnxruntime (`kserve_peer.py`; one worker,
           gRPC and per-request logging off).
Concurrency 1, 8 and 64, a few seconds per cell, loopback only. Where `taskset` exists the server
runs on CPU 0 and the load generator on CPU 1. Prints a table and the ratios; writes
`.run/bench-runtime/results.json` and `results.md`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort

from tests.onnx_models import linear_model, signature_of, write_model

REPO = Path(__file__).resolve().parents[3]
WORK = REPO / ".run" / "bench-runtime"
VENV = REPO / ".run" / "bench-venv"
KSERVE_VENV = REPO / ".run" / "bench-kserve-venv"
CONCURRENCY = (1, 8, 64)
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
WARMUP = 1.0
N_FEATURES = 20
PEER_SPEC = ["mlserver>=1.6", "onnxruntime>=1.22", "numpy>=2.1"]
KSERVE_SPEC = ["kserve>=0.15", "onnxruntime>=1.22", "numpy>=2.1"]
PEERS = (("mlserver", "MLServer (custom ONNX)"), ("kserve", "KServe model server (custom ONNX)"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() != 1 else []


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def ensure_venv(venv: Path, spec: list[str], module: str) -> Path:
    """Create `venv` with `spec` from the package index unless `module` already imports there;
    returns the venv's python."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", f"import {module}"]
    if (
        not python.exists()
        or subprocess.run(probe, check=False, capture_output=True).returncode != 0
    ):
        print(f"installing {spec[0]} into {venv.relative_to(REPO)}…", flush=True)
        subprocess.run(
            ["uv", "venv", "--allow-existing", "--python", "3.11", str(venv)], check=True
        )
        subprocess.run(["uv", "pip", "install", "--python", str(python), *spec], check=True)
    return python


def installed_version(venv: Path, package: str) -> str:
    """The version of `package` in `venv`."""
    return subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({package!r}))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def peer_env(venv: Path) -> dict[str, str]:
    """This environment without the workspace's venv, with `venv/bin` first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return env


def bench_raw(model_path: Path, x: np.ndarray) -> dict[str, float]:
    """`session.run` in a loop in this process (concurrency 1 only: there is no server)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    for _ in range(2000):
        session.run(None, {"x": x})
    latencies = []
    end = time.perf_counter() + SECONDS
    while time.perf_counter() < end:
        start = time.perf_counter()
        session.run(None, {"x": x})
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    total = sum(latencies)
    return {
        "requests": len(latencies),
        "errors": 0,
        "rps": len(latencies) / total,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def load(url: str, body_file: Path, concurrency: int) -> dict[str, float]:
    """Run the load generator in its own process against `url`."""
    result = subprocess.run(
        [
            *_pin(1),
            sys.executable,
            "-m",
            "tests.bench.loadgen",
            url,
            f"--body-file={body_file}",
            f"--concurrency={concurrency}",
            f"--seconds={SECONDS}",
            f"--warmup={WARMUP}",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _check_response(url: str, body: bytes, expected: np.ndarray) -> None:
    response = httpx.post(url, content=body, headers={"content-type": "application/json"})
    response.raise_for_status()
    outputs = response.json()["outputs"]
    got = np.array(outputs[0]["data"], dtype=np.float32)
    if not np.allclose(got, expected.ravel(), rtol=1e-6):
        raise RuntimeError(f"{url} answered {got}, expected {expected.ravel()}")


def bench_server(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    port: int,
    ready_path: str,
    infer_path: str,
    body_file: Path,
    expected: np.ndarray,
) -> dict[int, dict[str, float]]:
    """Start a server pinned to CPU 0, check one answer, run every concurrency."""
    log = (WORK / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [*_pin(0), *cmd], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base + ready_path, proc)
        _check_response(base + infer_path, body_file.read_bytes(), expected)
        results = {}
        for concurrency in CONCURRENCY:
            results[concurrency] = load(base + infer_path, body_file, concurrency)
            print(f"  {name:8} c={concurrency:<3} {_fmt(results[concurrency])}", flush=True)
        return results
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _fmt(r: dict[str, float]) -> str:
    return (
        f"{r['rps']:>9.0f} req/s  p50 {r['p50_ms']:7.3f} ms  p99 {r['p99_ms']:7.3f} ms"
        f"  errors {int(r['errors'])}"
    )


def main() -> int:
    """Run the whole benchmark; returns the exit code."""
    WORK.mkdir(parents=True, exist_ok=True)
    model = linear_model(N_FEATURES)
    model_path, digest = write_model(model, WORK / "model.onnx")
    x = np.random.default_rng(0).normal(size=(1, N_FEATURES)).astype(np.float32)
    expected = ort.InferenceSession(str(model_path)).run(None, {"x": x})[0]
    body_file = WORK / "body.json"
    body_file.write_text(
        json.dumps(
            {
                "inputs": [
                    {
                        "name": "x",
                        "datatype": "FP32",
                        "shape": [1, N_FEATURES],
                        "data": x.ravel().tolist(),
                    }
                ]
            }
        )
    )
    results: dict[str, Any] = {
        "seconds_per_cell": SECONDS,
        "model": f"logistic regression, {N_FEATURES} FP32 features",
        "cpus": os.cpu_count(),
        "loadavg_before": os.getloadavg()[0],
    }
    print("raw onnxruntime session.run (in process)", flush=True)
    results["raw"] = bench_raw(model_path, x)
    print(f"  raw      c=1   {_fmt(results['raw'])}", flush=True)

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPLANE_RUNTIME_")}
    env.update(
        {
            "MODELPLANE_RUNTIME_MODEL_NAME": "bench",
            "MODELPLANE_RUNTIME_MODEL_VERSION": "1",
            "MODELPLANE_RUNTIME_MODEL_URI": model_path.as_uri(),
            "MODELPLANE_RUNTIME_MODEL_SHA256": digest,
            "MODELPLANE_RUNTIME_SIGNATURE": json.dumps(signature_of(model)),
            "MODELPLANE_RUNTIME_HOST": "127.0.0.1",
            "MODELPLANE_RUNTIME_PORT": str(port),
            "MODELPLANE_RUNTIME_CACHE_DIR": str(WORK / "cache"),
            "MODELPLANE_RUNTIME_LOG_LEVEL": "WARNING",
        }
    )
    print("modelplane-runtime", flush=True)
    results["ours"] = bench_server(
        "ours",
        [sys.executable, "-m", "modelplane_runtime"],
        env,
        REPO,
        port,
        "/v2/health/ready",
        "/v2/models/bench/infer",
        body_file,
        expected,
    )

    results["mlserver"] = bench_mlserver(model_path, body_file, expected)
    results["kserve"] = bench_kserve(model_path, body_file, expected)
    results["versions"] = {
        "mlserver": installed_version(VENV, "mlserver"),
        "kserve": installed_version(KSERVE_VENV, "kserve"),
    }
    results["loadavg_after"] = os.getloadavg()[0]
    report(results)
    return 0


def bench_mlserver(
    model_path: Path, body_file: Path, expected: np.ndarray
) -> dict[int, dict[str, float]]:
    """MLServer with the custom ONNX runtime class of `peer_runtime.py`."""
    mlserver = ensure_venv(VENV, PEER_SPEC, "mlserver").with_name("mlserver")
    peer_dir = WORK / "mlserver"
    peer_dir.mkdir(exist_ok=True)
    shutil.copy(model_path, peer_dir / "model.onnx")
    shutil.copy(Path(__file__).with_name("peer_runtime.py"), peer_dir / "peer_runtime.py")
    peer_port = _free_port()
    (peer_dir / "settings.json").write_text(
        json.dumps(
            {
                "http_port": peer_port,
                "grpc_port": _free_port(),
                "metrics_port": _free_port(),
                "parallel_workers": 0,
                "host": "127.0.0.1",
                "debug": False,
            }
        )
    )
    (peer_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "bench",
                "implementation": "peer_runtime.OnnxRuntime",
                "parameters": {"uri": str(peer_dir / "model.onnx"), "version": "1"},
            }
        )
    )
    print("mlserver (peer)", flush=True)
    return bench_server(
        "mlserver",
        [str(mlserver), "start", str(peer_dir)],
        peer_env(VENV),
        peer_dir,
        peer_port,
        "/v2/health/ready",
        "/v2/models/bench/infer",
        body_file,
        expected,
    )


def bench_kserve(
    model_path: Path, body_file: Path, expected: np.ndarray
) -> dict[int, dict[str, float]]:
    """KServe's model server with the custom `kserve.Model` of `kserve_peer.py`."""
    python = ensure_venv(KSERVE_VENV, KSERVE_SPEC, "kserve")
    peer_dir = WORK / "kserve"
    peer_dir.mkdir(exist_ok=True)
    shutil.copy(model_path, peer_dir / "model.onnx")
    shutil.copy(Path(__file__).with_name("kserve_peer.py"), peer_dir / "kserve_peer.py")
    port = _free_port()
    print("kserve (peer)", flush=True)
    return bench_server(
        "kserve",
        [
            str(python),
            str(peer_dir / "kserve_peer.py"),
            "--model_name=bench",
            f"--model_path={peer_dir / 'model.onnx'}",
            f"--http_port={port}",
            "--workers=1",
            "--enable_grpc=false",
            "--enable_latency_logging=false",
            "--configure_logging=false",
        ],
        peer_env(KSERVE_VENV),
        peer_dir,
        port,
        "/v2/models/bench/ready",
        "/v2/models/bench/infer",
        body_file,
        expected,
    )


def report(results: dict[str, Any]) -> None:
    """Print ratios and write results.json / results.md."""
    ours, raw = results["ours"], results["raw"]
    lines = [
        "| system | concurrency | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
        f"| raw onnxruntime `session.run` | 1 | {raw['rps']:.0f} | {raw['p50_ms']:.3f} | "
        f"{raw['p99_ms']:.3f} |",
    ]
    for name, label in (("ours", "modelplane-runtime"), *PEERS):
        for c in CONCURRENCY:
            r = results[name][c]
            lines.append(
                f"| {label} | {c} | {r['rps']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} |"
            )
    overhead = ours[1]["p50_ms"] - raw["p50_ms"]
    ratios = [
        f"- our per-request overhead at concurrency 1 (server p50 − raw p50, includes the "
        f"client and loopback): {overhead:.3f} ms",
        f"- peers: MLServer {results['versions']['mlserver']}, "
        f"KServe {results['versions']['kserve']}",
    ]
    for c in CONCURRENCY:
        best = max(results[name][c]["rps"] for name, _ in PEERS)
        each = ", ".join(
            f"/ {label.split(' (')[0]} {ours[c]['rps'] / results[name][c]['rps']:.2f}× "
            f"(p99 {results[name][c]['p99_ms']:.2f} ms)"
            for name, label in PEERS
        )
        ratios.append(
            f"- throughput ours at concurrency {c} (p99 {ours[c]['p99_ms']:.2f} ms): {each}; "
            f"/ the best peer {ours[c]['rps'] / best:.2f}×"
        )
    ratios.append(
        f"- 1-minute load average of the machine: {results['loadavg_before']:.1f} before, "
        f"{results['loadavg_after']:.1f} after, on {results['cpus']} CPUs"
    )
    text = "\n".join([*lines, "", *ratios])
    print("\n" + text)
    results["overhead_c1_ms"] = overhead
    (WORK / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (WORK / "results.md").write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
