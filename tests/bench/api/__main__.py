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
Seed: one admin, one organization, 200 projects. Then the facade's memory under uploads: four
90 MiB ONNX files posted at once to one model (MinIO as the store, `MAX_CONCURRENT_UPLOADS` at
its default), the server's peak RSS (VmHWM) against its RSS before, and how many of the four
were checked (201/202) or told to come back (503 `uploads_busy`). Prints tables; writes
`.run/bench-api/results.json` and `results.md`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
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
from tests.bench import wait_ready

REPO = Path(__file__).resolve().parents[3]
WORK = REPO / ".run" / "bench-api"
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "64"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
PROJECTS = 200
PASSWORD = "bench password 0123456789"
UPLOADS = 4
UPLOAD_MIB = 90
BUCKET = "bench-api"


def _pin(cpu: int) -> list[str]:
    return (
        ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []
    )


async def _seed(settings: Settings) -> tuple[str, str, str]:
    """Create the admin, the organization, its projects and a model; return (token, org id,
    model id)."""
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
        model = await client.post(
            f"/api/v1/organizations/{org_id}/models", headers=headers, json={"name": "big"}
        )
        assert model.status_code == 201, model.text
    await app.state.ctx.redis.aclose()
    await app.state.ctx.engine.dispose()
    return token, org_id, model.json()["data"]["id"]


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


async def _uploads(url: str, token: str, artifact: Path) -> list[int]:
    """Post the file `UPLOADS` times at once; the status codes."""

    async def one(client: httpx.AsyncClient) -> int:
        with artifact.open("rb") as body:
            response = await client.post(
                url,
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("model.onnx", body, "application/octet-stream")},
            )
        return response.status_code

    async with httpx.AsyncClient(timeout=600) as client:
        return list(await asyncio.gather(*(one(client) for _ in range(UPLOADS))))


def _upload_memory(url: str, token: str, pid: int) -> dict[str, Any]:
    """The server's memory under `UPLOADS` concurrent uploads of a `UPLOAD_MIB` MiB model."""
    from tests.onnx_models import linear_model, write_model

    artifact, _ = write_model(linear_model(UPLOAD_MIB * 1024 * 1024 // 4), WORK / "big.onnx")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _memory_kib(pid)
    statuses = asyncio.run(_uploads(url, token, artifact))
    after = _memory_kib(pid)
    return {
        "file_mib": round(artifact.stat().st_size / 2**20, 1),
        "rss_before_mib": round(before["VmRSS"] / 1024, 1),
        "peak_mib": round(after["VmHWM"] / 1024, 1),
        "statuses": statuses,
    }


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


def main() -> int:
    """Run the benchmark and print the table."""
    WORK.mkdir(parents=True, exist_ok=True)
    platform = LocalPlatform(WORK / "platform", owner_pid=os.getpid(), progress=print)
    platform.sweep_stale()
    server: subprocess.Popen[bytes] | None = None
    try:
        postgres, redis = platform.ensure_postgres(), platform.ensure_redis()
        s3 = platform.ensure_s3().with_bucket(BUCKET)
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
            "MODELPLANE_API_S3_ENDPOINT_URL": s3.endpoint_url,
            "MODELPLANE_API_S3_ACCESS_KEY_ID": s3.access_key,
            "MODELPLANE_API_S3_SECRET_ACCESS_KEY": s3.secret_key,
            "MODELPLANE_API_ARTIFACT_BUCKET": BUCKET,
        }
        settings = Settings(
            database_url=database_url,
            redis_url=redis.url,
            jwt_keys=keys,
            kubernetes_enabled=False,
            access_token_ttl_seconds=3600,
        )
        token, org_id, model_id = asyncio.run(_seed(settings))
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
        wait_ready(url, server, WORK / "server.log")
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
        versions = f"{url}/api/v1/organizations/{org_id}/models/{model_id}/versions"
        memory = _upload_memory(versions, token, server.pid)
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
    checked = sum(1 for status in memory["statuses"] if status in (201, 202))
    lines += [
        "",
        f"{UPLOADS} concurrent uploads of a {memory['file_mib']} MiB ONNX file, "
        "`MAX_CONCURRENT_UPLOADS` at its default",
        "",
        "| RSS before MiB | peak RSS MiB | peak − before MiB | × file size | checked | 503 |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {memory['rss_before_mib']} | {memory['peak_mib']} | "
        f"{memory['peak_mib'] - memory['rss_before_mib']:.1f} | "
        f"{(memory['peak_mib'] - memory['rss_before_mib']) / memory['file_mib']:.2f} | "
        f"{checked} | {memory['statuses'].count(503)} |",
    ]
    table = "\n".join(lines)
    print(table)
    (WORK / "results.json").write_text(json.dumps({**results, "uploads": memory}, indent=2))
    (WORK / "results.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
