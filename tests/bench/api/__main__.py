"""Facade API benchmark: `python -m tests.bench.api` (what `make bench-api` runs).

Real PostgreSQL and Redis from the project's LocalPlatform, the facade served by uvicorn in its
own process exactly as `python -m modelplane_api serve` runs it (uvloop, httptools, JSON access
log), one closed-loop load generator process (`tests/bench/loadgen.py`) at concurrency 64.
Where `taskset` exists the server runs on CPU 0 and the load generator on CPU 1. Three endpoints
on the same stack, so the ratios isolate what each layer costs:
  /health                            envelope only: no auth, no database, no Redis
  /api/v1/auth/me                    + JWT (EdDSA) check, per-IP and per-user Redis counters,
                                       one primary-key lookup
  /api/v1/organizations/{id}/projects  + membership check, COUNT and a page of 20 rows
                                       (the authenticated list endpoint this benchmark is about)
Seed: one admin, one organization, 200 projects. Prints a table; writes
`.run/bench-api/results.json` and `results.md`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
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

REPO = Path(__file__).resolve().parents[3]
WORK = REPO / ".run" / "bench-api"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "64"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
PROJECTS = 200
PASSWORD = "bench password 0123456789"


def _pin(cpu: int) -> list[str]:
    return (
        ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
    )


async def _seed(settings: Settings) -> tuple[str, str]:
    """Create the admin, the organization and its projects; return (token, org id)."""
    app = create_app(settings, gateway=RecordingClusterGateway())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://seed") as client:
        email = f"bench-{os.getpid()}@example.com"
        await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Bench"},
        )
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        token = login.json()["data"]["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        org = await client.post(
            "/api/v1/organizations",
            headers=headers,
            json={"slug": f"bench-{os.getpid()}", "display_name": "Bench"},
        )
        org_id = org.json()["data"]["id"]
        for index in range(PROJECTS):
            created = await client.post(
                f"/api/v1/organizations/{org_id}/projects",
                headers=headers,
                json={"name": f"project-{index:04d}"},
            )
            assert created.status_code == 201, created.text
    await app.state.ctx.redis.aclose()
    await app.state.ctx.engine.dispose()
    return token, org_id


def _load(url: str, headers: list[str]) -> dict[str, Any]:
    command = [
        *_pin(1),
        sys.executable,
        "-m",
        "tests.bench.loadgen",
        url,
        f"--concurrency={CONCURRENCY}",
        f"--seconds={SECONDS}",
        *(f"--header={header}" for header in headers),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"facade exited with {proc.returncode}; see {WORK}/server.log")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("facade did not become ready")


def main() -> int:
    """Run the benchmark and print the table."""
    WORK.mkdir(parents=True, exist_ok=True)
    platform = LocalPlatform(WORK / "platform", owner_pid=os.getpid(), progress=print)
    platform.sweep_stale()
    server: subprocess.Popen[bytes] | None = None
    try:
        postgres, redis = platform.ensure_postgres(), platform.ensure_redis()
        database_url = postgres.create_database(f"bench_api_{os.getpid()}")
        upgrade(database_url)
        keys = f"[{generate_jwt_key('bench-1')}]"
        env = {
            "MODELPLANE_API_DATABASE_URL": database_url,
            "MODELPLANE_API_REDIS_URL": redis.url,
            "MODELPLANE_API_JWT_KEYS": keys,
            "MODELPLANE_API_KUBERNETES_ENABLED": "false",
            "MODELPLANE_API_RATE_LIMIT_PER_IP": "100000000",
            "MODELPLANE_API_RATE_LIMIT_PER_USER": "100000000",
            "MODELPLANE_API_ACCESS_TOKEN_TTL_SECONDS": "3600",
        }
        settings = Settings(
            database_url=database_url,
            redis_url=redis.url,
            jwt_keys=keys,
            kubernetes_enabled=False,
            access_token_ttl_seconds=3600,
        )
        token, org_id = asyncio.run(_seed(settings))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (WORK / "server.log").open("wb") as log:
            server = subprocess.Popen(
                [
                    *_pin(0),
                    sys.executable,
                    "-m",
                    "modelplane_api",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                env={**os.environ, **env},
                stdout=log,
                stderr=log,
                cwd=REPO,
            )
        _wait_ready(url, server)
        auth = [f"Authorization: Bearer {token}"]
        cases = [
            ("GET /health (baseline)", f"{url}/health", []),
            ("GET /api/v1/auth/me", f"{url}/api/v1/auth/me", auth),
            (
                f"GET …/projects (list, {PROJECTS} rows, page of 20)",
                f"{url}/api/v1/organizations/{org_id}/projects?limit=20&sort=-created_at",
                auth,
            ),
        ]
        results = {name: _load(target, headers) for name, target, headers in cases}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        platform.stop()
    base = results[cases[0][0]]
    lines = [
        f"concurrency {CONCURRENCY}, {SECONDS:.0f} s per endpoint after 1 s warm-up, "
        f"{os.cpu_count()} CPUs",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | errors | req/s vs /health |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, result in results.items():
        lines.append(
            f"| {name} | {result['rps']:,.0f} | {result['p50_ms']:.1f} | "
            f"{result['p99_ms']:.1f} | {result['errors']} | "
            f"{result['rps'] / base['rps']:.2f} |"
        )
    table = "\n".join(lines)
    print(table)
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    (WORK / "results.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
