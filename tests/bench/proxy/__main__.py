"""Inference proxy benchmark: `python -m tests.bench.proxy` (the second half of `make bench-api`).

What the facade's proxy adds over calling a deployment's Service directly. On the local
platform as `make up` starts it (real node: kubelet, kube-proxy, containerd; the operator), the
demo's own path through the facade: sign in, organization, model, upload, deploy (four replicas
on the node). Then the same Open Inference Protocol v2 request (one row of the demo's
4-feature model), closed loop, at concurrency 1 and 8, to:

- the deployment's Service, at its ClusterIP (kube-proxy), keep-alive — the baseline;
- the facade's `POST …/deployments/{name}/infer` with a user's access token (JWT);
- the same with an API key.

The facade checks the credential, counts three rate-limit budgets in Redis, resolves the
Service (cached) and forwards on a new connection per call (so kube-proxy keeps the canary
split; see `modelplane_api.inference.proxy`). Every answer is checked to be a 200 before
timing. Prints a table and the added p50 latency; writes the "Inference proxy" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from modelplane_cli.demo import Demo, build_model, inputs_of
from modelplane_cli.dev import runs_root
from tests.bench import write_section

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "benchmarks.md"
SECTION = "## Inference proxy"
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCIES = (1, 8)
UNLIMITED = {
    f"MODELPLANE_API_INFERENCE_RATE_PER_{who}": "1000000000"
    for who in ("PRINCIPAL", "ORGANIZATION", "IP")
}
"""The facade's inference budgets, out of the way: this measures latency, not the limiter."""
DIRECT = "the Service, directly (ClusterIP, keep-alive)"
PROXIED = ("the facade's proxy, access token (JWT)", "the facade's proxy, API key")
TARGET_MS = 1.0


def _load(url: str, body: Path, concurrency: int, headers: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable, "-m", "tests.bench.loadgen", url, f"--body-file={body}",
            f"--concurrency={concurrency}", f"--seconds={SECONDS}", "--warmup=2",
            *(f"--header={h}" for h in headers),
        ],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def _service_url(demo: Demo, namespace: str, name: str, model: str) -> str:
    service = json.loads(demo.kubectl("get", "svc", name, "-n", namespace, "-o", "json"))
    port = service["spec"]["ports"][0]["port"]
    return f"http://{service['spec']['clusterIP']}:{port}/v2/models/{model}/infer"


def measure(demo: Demo, run_dir: Path) -> dict[str, Any]:
    """Deploy through the facade and load the Service and the proxy side by side."""
    demo.token = demo.sign_in()
    org_id, namespace = demo.create_organization(demo.token)
    model_id = demo.create_model(demo.token, org_id)
    version, version_id = demo.upload_version(
        demo.token, org_id, model_id, build_model(), "proxy benchmark"
    )
    path = demo.deploy(org_id, namespace, version_id, version)
    name = path.rsplit("/", 1)[1]
    body = inputs_of(np.random.default_rng(0).normal(size=(1, 4)).astype(np.float32))
    body_file = run_dir / "body.json"
    body_file.write_text(json.dumps(body))
    api = demo.endpoints["api"]
    proxy_url = f"{api}/api/v1{path}/infer"
    first = httpx.post(proxy_url, json=body, headers=demo.auth, timeout=10)
    first.raise_for_status()
    key = httpx.post(
        f"{api}/api/v1/organizations/{org_id}/api-keys",
        json={"name": f"bench-proxy-{os.getpid()}", "role": "viewer"},
        headers=demo.auth,
        timeout=10,
    )
    key.raise_for_status()
    direct_url = _service_url(demo, namespace, name, first.json()["model_name"])
    httpx.post(direct_url, json=body, timeout=10).raise_for_status()
    cases = {
        DIRECT: (direct_url, []),
        PROXIED[0]: (proxy_url, [f"Authorization: Bearer {demo.token}"]),
        PROXIED[1]: (proxy_url, [f"Authorization: Bearer {key.json()['data']['key']}"]),
    }
    results: dict[str, Any] = {"date": datetime.now().strftime("%Y-%m-%d %H:%M"), "runs": {}}
    for concurrency in CONCURRENCIES:
        for case, (url, headers) in cases.items():
            print(f"load: {case}, concurrency {concurrency} …", flush=True)
            results["runs"][f"{case}|{concurrency}"] = _load(url, body_file, concurrency, headers)
    results["load_average"] = os.getloadavg()[0]
    return results


def report(results: dict[str, Any]) -> None:
    """Print the table and replace this section of docs/benchmarks.md."""
    runs = results["runs"]
    lines = [
        SECTION,
        "",
        f"`make bench-api` (its second half, `tests/bench/proxy/`), {results['date']} UTC, on the "
        f"project's {os.cpu_count()}-core machine (1-minute load average "
        f"{results['load_average']:.1f} at the end). The demo's deployment through the facade "
        "(four replicas on the real node), one 4-feature row per request, closed loop, "
        f"{SECONDS:.0f} s after 2 s of warm-up (`tests/bench/loadgen.py`); the facade is one "
        "uvicorn worker, as the local platform runs it.",
        "",
        "| path | concurrency | req/s | p50 ms | p99 ms | errors | p50 added ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, run in runs.items():
        case, concurrency = key.split("|")
        base = runs[f"{DIRECT}|{concurrency}"]
        lines.append(
            f"| {case} | {concurrency} | {run['rps']:,.0f} | {run['p50_ms']:.2f} | "
            f"{run['p99_ms']:.2f} | {run['errors']} | {run['p50_ms'] - base['p50_ms']:+.2f} |"
        )
    added = max(runs[f"{case}|1"]["p50_ms"] - runs[f"{DIRECT}|1"]["p50_ms"] for case in PROXIED)
    verdict = "met" if added < TARGET_MS else "missed"
    lines += [
        "",
        f"Target (issue 12): the proxy adds under {TARGET_MS:.0f} ms p50 at concurrency 1 — "
        f"**{verdict}** ({added:+.2f} ms at most, this run). Each proxied call also checks "
        "the credential (a JWT, or an API key's hash in PostgreSQL), counts three rate-limit "
        "budgets in Redis and opens a new connection to the Service; the facade's own cost per "
        "request is what `make bench-api`'s first half measures against `/health`.",
    ]
    text = "\n".join([*lines, ""])
    print(text)
    write_section(DOC, SECTION, text)


def _modelplane(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "modelplane_cli", *args], check=True, cwd=REPO)


def main() -> int:
    """Start the local platform as `make up` does (its facade with the inference budgets out
    of the way), measure, stop it. A platform already running is refused: its facade has the
    default budgets, and this would stop it."""
    dev_dir = runs_root() / "dev"
    if (dev_dir / "state.json").exists():
        print(
            "a local platform is running (or was not stopped): `make down` first", file=sys.stderr
        )
        return 1
    os.environ.update(UNLIMITED)
    run_dir = REPO / ".run" / f"bench-proxy-{os.getpid()}"
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        _modelplane("dev", "up")
        results = measure(Demo(dev_dir), run_dir)
    finally:
        _modelplane("dev", "down")
        shutil.rmtree(run_dir, ignore_errors=True)
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
