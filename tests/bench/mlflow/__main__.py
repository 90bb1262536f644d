"""MLflow tracking benchmark: `python -m tests.bench.mlflow` (part of `make bench-api`).

What the facade adds to MLflow's tracking API. The project's LocalPlatform starts PostgreSQL,
Redis, MinIO and the MLflow server (PostgreSQL backend, one worker, workspaces); the facade runs
in its own process exactly as `python -m modelplane_api serve` runs it. The same requests go,
alternately, to MLflow directly (with the organization's `X-MLFLOW-WORKSPACE`) and through
`/api/v1/organizations/<slug>/mlflow` with a developer's access token (JWT check, membership,
two rate-limit budgets in Redis, the workspace header set, one audit event per `log-batch`):

- `runs/log-batch` of 1,000 metrics into one run (MLflow's cap per request);
- `runs/search` over 10,000 runs of one experiment, each with an `auc` metric and a `depth`
  param: a filtered, sorted page of 100 (`metrics.auc > 0.5`, `ORDER BY metrics.auc DESC`), as
  the dashboard asks, and a page of 1,000.

Every answer is checked to be a 200 before timing. Prints a table (median and p95 of
`BENCH_REPS` calls each, the ratio of medians and the milliseconds added); writes the "MLflow
tracking through the facade" section of docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from modelplane_api.main import create_app
from modelplane_api.migrate import upgrade
from modelplane_api.security import generate_jwt_key
from modelplane_api.settings import Settings
from modelplane_cli.local.platform import LocalPlatform
from modelplane_cli.local.processes import free_port
from tests.api.fakes import RecordingClusterGateway
from tests.bench import wait_ready, write_section

REPO = Path(__file__).resolve().parents[3]
WORK = REPO / ".run" / "bench-mlflow"
DOC = REPO / "docs" / "benchmarks.md"
SECTION = "## MLflow tracking through the facade"
RUNS = int(os.environ.get("BENCH_RUNS", "10000"))
REPS = int(os.environ.get("BENCH_REPS", "30"))
PASSWORD = "bench password 0123456789"
V2 = "/api/2.0/mlflow"


async def _seed(settings: Settings) -> tuple[str, str]:
    """A user and the organization it administers; (access token, slug)."""
    app = create_app(settings, gateway=RecordingClusterGateway())
    transport = httpx.ASGITransport(app=app)
    slug = f"bench-{os.getpid()}"
    async with httpx.AsyncClient(transport=transport, base_url="http://seed") as client:
        email = f"bench-{os.getpid()}@example.com"
        await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Bench"},
        )
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        token = str(login.json()["data"]["access_token"])
        org = await client.post(
            "/api/v1/organizations",
            headers={"Authorization": f"Bearer {token}"},
            json={"slug": slug, "display_name": "Bench"},
        )
        assert org.status_code == 201, org.text
    await app.state.ctx.redis.aclose()
    await app.state.ctx.engine.dispose()
    return token, slug


async def _many_runs(mlflow: str, auth: dict[str, str], workspace: str, experiment_id: str) -> None:
    """`RUNS` runs straight into MLflow, 8 at a time (its pool holds 15 connections), each
    with `auc` and `depth`."""
    rng = random.Random(7)
    slots = asyncio.Semaphore(8)
    headers = {"X-MLFLOW-WORKSPACE": workspace, **auth}
    now = int(time.time() * 1000)

    async def one(client: httpx.AsyncClient, index: int) -> None:
        async with slots:
            created = await client.post(
                f"{V2}/runs/create", json={"experiment_id": experiment_id}, headers=headers
            )
            created.raise_for_status()
            run_id = created.json()["run"]["info"]["run_id"]
            logged = await client.post(
                f"{V2}/runs/log-batch",
                json={
                    "run_id": run_id,
                    "metrics": [{"key": "auc", "value": rng.random(), "timestamp": now, "step": 0}],
                    "params": [{"key": "depth", "value": str(index % 8)}],
                },
                headers=headers,
            )
            assert logged.status_code == 200, logged.text[:300]

    async with httpx.AsyncClient(base_url=mlflow, timeout=60) as client:
        await asyncio.gather(*(one(client, i) for i in range(RUNS)))


def _time(client: httpx.Client, path: str, body: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:300]
    return elapsed * 1000


def _compare(
    direct: httpx.Client, facade: httpx.Client, path: str, body: Any
) -> dict[str, dict[str, float]]:
    """`REPS` timed calls each way, alternating (two warm-up calls each first); `body` may be a
    function of the repetition."""
    make = body if callable(body) else (lambda _: body)
    for rep in range(2):
        _time(direct, path, make(-1 - rep))
        _time(facade, path, make(-3 - rep))
    times: dict[str, list[float]] = {"direct": [], "facade": []}
    for rep in range(REPS):
        times["direct"].append(_time(direct, path, make(2 * rep)))
        times["facade"].append(_time(facade, path, make(2 * rep + 1)))
    return {
        way: {
            "p50": statistics.median(values),
            "p95": statistics.quantiles(values, n=20)[-1],
        }
        for way, values in times.items()
    }


def _measure(
    mlflow: str, auth: dict[str, str], facade_url: str, token: str, slug: str
) -> dict[str, Any]:
    workspace = f"mp-{slug}"
    created = httpx.post(
        f"{mlflow}/api/3.0/mlflow/workspaces", json={"name": workspace}, headers=auth
    )
    assert created.is_success, created.text
    direct_headers = {"X-MLFLOW-WORKSPACE": workspace, **auth}
    direct = httpx.Client(base_url=mlflow, headers=direct_headers, timeout=120)
    facade = httpx.Client(
        base_url=f"{facade_url}/api/v1/organizations/{slug}/mlflow",
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    with direct, facade:
        experiment = direct.post(f"{V2}/experiments/create", json={"name": "bench"})
        experiment.raise_for_status()
        experiment_id = experiment.json()["experiment_id"]
        run = direct.post(f"{V2}/runs/create", json={"experiment_id": experiment_id})
        run_id = run.json()["run"]["info"]["run_id"]

        def batch(rep: int) -> dict[str, Any]:
            now = int(time.time() * 1000)
            return {
                "run_id": run_id,
                "metrics": [
                    {"key": "loss", "value": 1 / (s + 1), "timestamp": now, "step": rep * 1000 + s}
                    for s in range(1000)
                ],
            }

        log_batch = _compare(direct, facade, f"{V2}/runs/log-batch", batch)
        results = {"log_batch of 1,000 metrics": log_batch}
        searched = direct.post(f"{V2}/experiments/create", json={"name": "search"})
        searched.raise_for_status()
        search_id = searched.json()["experiment_id"]
        started = time.perf_counter()
        asyncio.run(_many_runs(mlflow, auth, workspace, search_id))
        seeded_s = time.perf_counter() - started
        page = {
            "experiment_ids": [search_id],
            "filter": "metrics.auc > 0.5",
            "order_by": ["metrics.auc DESC"],
            "max_results": 100,
        }
        results[f"search_runs over {RUNS:,} runs: filtered, sorted page of 100"] = _compare(
            direct, facade, f"{V2}/runs/search", page
        )
        everything = {"experiment_ids": [search_id], "max_results": 1000}
        results[f"search_runs over {RUNS:,} runs: page of 1,000"] = _compare(
            direct, facade, f"{V2}/runs/search", everything
        )
    return {"results": results, "seeded_s": seeded_s}


def main() -> int:
    """Run the benchmark, print the table, write the docs section."""
    WORK.mkdir(parents=True, exist_ok=True)
    platform = LocalPlatform(WORK / "platform", owner_pid=os.getpid(), progress=print)
    platform.sweep_stale()
    server: subprocess.Popen[bytes] | None = None
    try:
        postgres, redis = platform.ensure_postgres(), platform.ensure_redis()
        mlflow_server = platform.ensure_mlflow()
        mlflow, auth = mlflow_server.url, mlflow_server.headers()
        database_url = postgres.create_database(f"bench_mlflow_{os.getpid()}")
        upgrade(database_url)
        keys = f"[{generate_jwt_key('bench-1')}]"
        settings = Settings(
            database_url=database_url,
            redis_url=redis.url,
            jwt_keys=keys,
            kubernetes_enabled=False,
            access_token_ttl_seconds=3600,
        )
        token, slug = asyncio.run(_seed(settings))
        port = free_port()
        facade_url = f"http://127.0.0.1:{port}"
        env = {
            "MODELPLANE_API_DATABASE_URL": database_url,
            "MODELPLANE_API_REDIS_URL": redis.url,
            "MODELPLANE_API_JWT_KEYS": keys,
            "MODELPLANE_API_KUBERNETES_ENABLED": "false",
            "MODELPLANE_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
            "MODELPLANE_API_MLFLOW_TRACKING_URI": mlflow,
            "MODELPLANE_API_MLFLOW_TOKEN": mlflow_server.token,
            "MODELPLANE_API_BACKGROUND_TASKS": "false",
        }
        with (WORK / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "modelplane_api", "serve", "--host", "127.0.0.1",
                 "--port", str(port)],
                env={**os.environ, **env}, stdout=log, stderr=log, cwd=REPO,
            )  # fmt: skip
        wait_ready(facade_url, server, WORK / "server.log")
        measured = _measure(mlflow, auth, facade_url, token, slug)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        platform.stop()
    lines = [
        SECTION,
        "",
        f"`make bench-api` (`python -m tests.bench.mlflow`), {datetime.now():%Y-%m-%d}, "
        f"{os.cpu_count()} CPUs: MLflow 3.17.2 (PostgreSQL backend, 1 worker, workspaces) "
        "directly vs through the facade (a developer's JWT), alternating, "
        f"{REPS} calls each after 2 warm-up calls; {RUNS:,} runs seeded in "
        f"{measured['seeded_s']:.0f} s.",
        "",
        "| call | direct p50 ms | facade p50 ms | added p50 ms | facade / direct | "
        "direct p95 ms | facade p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, ways in measured["results"].items():
        direct, facade = ways["direct"], ways["facade"]
        lines.append(
            f"| {name} | {direct['p50']:.1f} | {facade['p50']:.1f} | "
            f"{facade['p50'] - direct['p50']:.1f} | {facade['p50'] / direct['p50']:.2f} | "
            f"{direct['p95']:.1f} | {facade['p95']:.1f} |"
        )
    table = "\n".join(lines) + "\n"
    print(table)
    write_section(DOC, SECTION, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
