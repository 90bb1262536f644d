"""The facade image, run the way its pod runs it: as the image's own non-root user, read-only root
filesystem, no capabilities, a tmpfs at /tmp. It migrates a real PostgreSQL, then serves
`/health`, `/ready` (PostgreSQL and Redis really answer) and the dashboard at `/`.

runc on a buildah mount (tests/images/support.py), not the real node: only one node runs per
machine and these checks need none of it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from modelplane_api.migrate import alembic_config
from modelplane_cli.local.images import DASHBOARD_INDEX, REPO_ROOT
from tests.images.support import (
    free_port,
    image_config,
    mounted,
    root_is_read_only,
    run_image,
    uid_of,
    wait_exit,
    wait_http,
)

pytestmark = [pytest.mark.image, pytest.mark.integration]  # buildah, runc and a build

UID = 65532  # the manifests' runAsUser


def _env(database_url: str, redis_url: str) -> dict[str, str]:
    key = {"kid": "image-test", "algorithm": "HS256", "private_key": secrets.token_urlsafe(48)}
    return {
        "MODELPLANE_API_DATABASE_URL": database_url,
        "MODELPLANE_API_REDIS_URL": redis_url,
        "MODELPLANE_API_JWT_KEYS": json.dumps([key]),
        "MODELPLANE_API_KUBERNETES_ENABLED": "false",
        "MODELPLANE_API_BACKGROUND_TASKS": "false",
    }


def test_the_facade_image_runs_the_api_as_a_fixed_non_root_user_with_the_dashboard_inside(
    facade_image: str,
) -> None:
    config = image_config(facade_image)
    env = dict(item.split("=", 1) for item in config["Env"])
    assert config["User"] == str(UID)
    assert config["Entrypoint"] == ["python", "-m", "modelplane_api"]
    assert config["Cmd"][:1] == ["serve"]
    assert "0.0.0.0" in config["Cmd"]  # a pod listens on its own interface
    dashboard = env["MODELPLANE_API_DASHBOARD_DIR"]
    with mounted(facade_image) as rootfs:
        index = rootfs / dashboard.lstrip("/") / "index.html"
        assert index.read_bytes() == (REPO_ROOT / DASHBOARD_INDEX).read_bytes()
        passwd = (rootfs / "etc/passwd").read_text().splitlines()
        assert any(line.split(":")[2] == str(UID) for line in passwd)


def test_the_facade_image_migrates_and_serves_health_ready_and_the_dashboard_read_only(
    facade_image: str, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, redis_url)
    with run_image(facade_image, tmp_path / "migrate", args=["migrate"], env=env) as job:
        code = wait_exit(job)
    assert code == 0, job.logs()
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            applied = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            assert sorted(applied) == sorted(heads)
    finally:
        engine.dispose()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    with run_image(facade_image, tmp_path / "serve", args=serve, env=env) as api:
        wait_http(f"{base}/health", api)
        pid = api.pid()
        health = httpx.get(f"{base}/health")
        ready = httpx.get(f"{base}/ready")
        page = httpx.get(f"{base}/")
        unknown = httpx.get(f"{base}/api/v1/no-such-thing")
        uid, read_only = uid_of(pid), root_is_read_only(pid)
    assert (uid, read_only) == (UID, True)
    assert health.status_code == 200
    assert health.json()["data"] == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json()["data"]["checks"] == {"postgres": "ok", "redis": "ok"}
    assert page.status_code == 200
    assert page.text == (REPO_ROOT / DASHBOARD_INDEX).read_text()
    assert unknown.status_code == 404
    assert unknown.json()["success"] is False
