"""The prediction metrics' cost on the hot path: `python -m tests.bench.runtime.predictions`
(what `make bench-predictions` runs).

Same model family as `tests.bench.runtime` (logistic regression, 20 FP32 features) with a class
output beside the score, so both kinds of prediction series are recorded: FP32 `y` [-1, 1]
(histogram) and INT64 `label` [-1] (classes). Three measurements, metric on and off interleaved in
the same run so they share the machine's load:

  record   in process: `session.run` alone vs `session.run` + `count_predictions`, per call,
           at batch 1, 32 and 1024 rows (min of several rounds of N calls);
  asgi     in process: one-row requests through the whole request path (an ASGI call: parse,
           validate, run, record, encode) of an app with the metric on and one with it off;
  http     `python -m modelplane_runtime` with `PREDICTION_METRICS=true` and `=false`, twice
           each, the load generator of `tests.bench.runtime` at concurrency
           1 and 64 (`BENCH_SECONDS` per cell), in the order on, off, off, on.

Prints a table and the on/off ratios; writes `.run/bench-runtime/predictions.json` / `.md`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from modelplane_runtime.app import create_app, load_model
from modelplane_runtime.metrics import RuntimeMetrics
from modelplane_runtime.predictions import PredictionMetrics
from modelplane_runtime.rest import RestApp
from modelplane_runtime.settings import RuntimeSettings
from tests.bench.runtime.__main__ import (
    N_FEATURES,
    REPO,
    SECONDS,
    WORK,
    _check_response,
    _free_port,
    _pin,
    _wait_ready,
    load,
)
from tests.onnx_models import linear_model, signature_of, write_model

BATCHES = (1, 32, 1024)
ROUNDS = 7
ASGI_ROUNDS = 40
CONCURRENCY = (1, 64)


def _settings(model_path: Path, digest: str, signature: dict[str, Any]) -> RuntimeSettings:
    return RuntimeSettings(
        model_name="bench",
        model_version="1",
        model_uri=model_path.as_uri(),
        model_sha256=digest,
        signature=signature,
        cache_dir=WORK / "cache",
    )


def bench_record(settings: RuntimeSettings) -> dict[int, dict[str, float]]:
    """µs per call of `predict` alone and of `predict` + recording, per batch size."""
    model = load_model(settings)
    metrics = RuntimeMetrics(
        "bench", "1", settings.model_sha256, PredictionMetrics(settings.signature.outputs)
    )
    rng = np.random.default_rng(0)
    results: dict[int, dict[str, float]] = {}
    for rows in BATCHES:
        x = {"x": rng.normal(size=(rows, N_FEATURES)).astype(np.float32)}
        calls = max(100, 20_000 // rows)
        best = {"off": float("inf"), "on": float("inf"), "record_only": float("inf")}
        outputs = model.predict(x)
        for _ in range(ROUNDS):
            for mode in ("off", "on", "record_only"):
                start = time.perf_counter()
                if mode == "off":
                    for _ in range(calls):
                        model.predict(x)
                elif mode == "on":
                    for _ in range(calls):
                        metrics.count_predictions(model.predict(x))
                else:
                    for _ in range(calls):
                        metrics.count_predictions(outputs)
                best[mode] = min(best[mode], (time.perf_counter() - start) / calls * 1e6)
        results[rows] = best
        print(
            f"  rows {rows:>5}: session.run {best['off']:8.2f} µs, + record {best['on']:8.2f} µs"
            f" (record alone {best['record_only']:.2f} µs) → ×{best['on'] / best['off']:.3f}",
            flush=True,
        )
    return results


def bench_asgi(settings: RuntimeSettings, body: bytes) -> dict[str, float]:
    """µs per request through the whole in-process request path (ASGI call: parse, validate,
    run, record, encode) of an app with the metric on and one with it off, interleaved."""
    apps = {
        mode: create_app(
            settings.model_copy(update={"prediction_metrics": on}), load_model(settings)
        )
        for mode, on in (("off", False), ("on", True))
    }
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v2/models/bench/infer",
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
    }
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(_: MutableMapping[str, Any]) -> None:
        return None

    async def run(app: RestApp, calls: int) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            await app(scope, receive, send)
        return (time.perf_counter() - start) / calls * 1e6

    async def rounds() -> dict[str, float]:
        best = {"on": float("inf"), "off": float("inf")}
        for _ in range(ASGI_ROUNDS):  # many short rounds: the minimum finds the quiet moments
            for mode in ("on", "off", "off", "on"):
                best[mode] = min(best[mode], await run(apps[mode], 500))
        return best

    best = asyncio.run(rounds())
    print(
        f"  one-row request: {best['off']:.1f} µs off, {best['on']:.1f} µs on"
        f" → ×{best['on'] / best['off']:.3f}",
        flush=True,
    )
    return best


def bench_http(settings: RuntimeSettings, body_file: Path, expected: np.ndarray) -> dict[str, Any]:
    """The real server with the metric on and off, twice each (on, off, off, on: a drift in
    the machine's load weighs on both alike)."""
    runs: dict[str, list[dict[int, dict[str, float]]]] = {"on": [], "off": []}
    for mode in ("on", "off", "off", "on"):
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPLANE_RUNTIME_")}
        env.update(
            {
                f"MODELPLANE_RUNTIME_{k.upper()}": v if isinstance(v, str) else json.dumps(v)
                for k, v in settings.model_dump(mode="json", exclude_none=True).items()
                if k in ("model_name", "model_version", "model_uri", "model_sha256", "signature")
            }
        )
        env.update(
            {
                "MODELPLANE_RUNTIME_HOST": "127.0.0.1",
                "MODELPLANE_RUNTIME_PORT": str(port),
                "MODELPLANE_RUNTIME_CACHE_DIR": str(WORK / "cache"),
                "MODELPLANE_RUNTIME_LOG_LEVEL": "WARNING",
                "MODELPLANE_RUNTIME_PREDICTION_METRICS": "true" if mode == "on" else "false",
            }
        )
        log = (WORK / f"predictions-{mode}.log").open("wb")
        proc = subprocess.Popen(
            [*_pin(0), sys.executable, "-m", "modelplane_runtime"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base + "/v2/health/ready", proc)
            _check_response(base + "/v2/models/bench/infer", body_file.read_bytes(), expected)
            cells = {}
            for concurrency in CONCURRENCY:
                cells[concurrency] = load(base + "/v2/models/bench/infer", body_file, concurrency)
                r = cells[concurrency]
                print(
                    f"  metric {mode:3} c={concurrency:<3} {r['rps']:>7.0f} req/s  "
                    f"p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms",
                    flush=True,
                )
            metrics = httpx.get(base + "/metrics").text
            if mode == "on" and "modelplane_runtime_prediction_class_total" not in metrics:
                raise RuntimeError("the metric was on but no prediction series was exported")
            runs[mode].append(cells)
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
    return runs


def main() -> int:
    """Run both measurements; returns the exit code."""
    WORK.mkdir(parents=True, exist_ok=True)
    model = linear_model(N_FEATURES, labelled=True)
    model_path, digest = write_model(model, WORK / "model-labelled.onnx")
    settings = _settings(model_path, digest, signature_of(model))
    x = np.random.default_rng(0).normal(size=(1, N_FEATURES)).astype(np.float32)
    expected = load_model(settings).predict({"x": x})["y"]
    body_file = WORK / "body.json"
    body_file.write_text(
        json.dumps(
            {
                "inputs": [
                    {"name": "x", "datatype": "FP32", "shape": [1, N_FEATURES],
                     "data": x.ravel().tolist()}
                ]
            }
        )
    )  # fmt: skip
    results: dict[str, Any] = {"loadavg_before": os.getloadavg()[0], "cpus": os.cpu_count()}
    print("record: session.run alone vs + count_predictions (in process, one core)", flush=True)
    results["record"] = bench_record(settings)
    print("asgi: the whole request path in process, metric on and off", flush=True)
    results["asgi"] = bench_asgi(settings, body_file.read_bytes())
    print(f"http: the runtime with the metric on and off ({SECONDS:g} s a cell)", flush=True)
    results["http"] = bench_http(settings, body_file, expected)
    report(results)
    return 0


def report(results: dict[str, Any]) -> None:
    """Print the table and the ratios; write predictions.json / .md."""
    lines = [
        "| rows per `session.run` | `session.run` µs | + record µs | record alone µs | on / off |",
        "|---:|---:|---:|---:|---:|",
    ]
    for rows, r in results["record"].items():
        lines.append(
            f"| {rows} | {r['off']:.2f} | {r['on']:.2f} | {r['record_only']:.2f} | "
            f"{r['on'] / r['off']:.3f} |"
        )
    asgi = results["asgi"]
    lines += [
        "",
        "| one-row request, in process (ASGI call) | µs |",
        "|---|---:|",
        f"| metric off | {asgi['off']:.1f} |",
        f"| metric on | {asgi['on']:.1f} |",
        f"| on / off | {asgi['on'] / asgi['off']:.3f} |",
    ]
    lines += [
        "",
        "| concurrency | metric | req/s (runs) | p50 ms | p99 ms |",
        "|---:|---|---|---:|---:|",
    ]
    ratios = []
    for c in CONCURRENCY:
        means = {}
        for mode in ("on", "off"):
            cells = [run[c] for run in results["http"][mode]]
            rps = [cell["rps"] for cell in cells]
            means[mode] = sum(rps) / len(rps)
            lines.append(
                f"| {c} | {mode} | {' / '.join(f'{v:.0f}' for v in rps)} | "
                f"{np.median([cell['p50_ms'] for cell in cells]):.3f} | "
                f"{np.median([cell['p99_ms'] for cell in cells]):.3f} |"
            )
        ratios.append(f"- throughput on / off at concurrency {c}: {means['on'] / means['off']:.3f}")
    ratios.append(
        f"- 1-minute load average before the run: {results['loadavg_before']:.1f} on "
        f"{results['cpus']} CPUs"
    )
    text = "\n".join([*lines, "", *ratios])
    print("\n" + text)
    (WORK / "predictions.json").write_text(json.dumps(results, indent=2, default=str))
    (WORK / "predictions.md").write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
