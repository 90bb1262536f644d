"""Session fixtures that give tests the real local platform.

Each service starts on first use, once per test session, on free loopback ports, in a run
directory under `.run/test-<pid>`; everything stops when the session ends (and, if the session is
killed, the next session sweeps what it left behind). Tests that use any of these fixtures are
marked `integration` automatically, so `pytest -m "not integration"` needs no services.

`make test` runs the session in pytest-xdist workers (`-n 2 --dist loadgroup`): each worker is
its own session with its own platform (its run directory, ports, database and bucket are named
by the worker's pid). What there is one of per machine cannot be split: every test that uses the
real node (the `real_node` fixture, anything under `tests/node/`, a `modelplane dev up` of its
own: marker `machine`) or the dashboard's export in `frontend/out` (built by one test, packed
into the facade image by another) is put into one xdist group, so they run in one worker, one
after another, never beside each other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from modelplane_cli.local import node
from modelplane_cli.local.binaries import KUBE
from modelplane_cli.local.platform import LocalPlatform, RealNode, S3Endpoint
from modelplane_cli.local.services import MLflow

REPO_ROOT = Path(__file__).resolve().parent.parent
PLATFORM_FIXTURES = frozenset(
    {
        "platform",
        "kubeconfig",
        "kube_api",
        "kubectl",
        "postgres_admin_url",
        "database_url",
        "redis_url",
        "s3",
        "s3_client",
        "mlflow_uri",
        "mlflow_server",
        "real_node",
    }
)
# Fixtures that hold something the machine has one of: the real node, `frontend/out`.
MACHINE_FIXTURES = frozenset({"real_node", "dashboard_export", "facade_image"})
MACHINE_PATHS = (REPO_ROOT / "tests" / "node",)
MACHINE_GROUP = pytest.mark.xdist_group(name="machine")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    docker_items = [item for item in items if item.get_closest_marker("docker")]
    skip_docker = pytest.mark.skip(
        reason="needs a running Docker engine (pytest-kind starts real kubelets in containers); "
        "none runs here, and the local control plane covers these paths with kwok nodes"
    )
    if docker_items and not _docker_running():
        for item in docker_items:
            item.add_marker(skip_docker)
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if PLATFORM_FIXTURES.intersection(fixtures):
            item.add_marker(pytest.mark.integration)
        if _uses_the_machine(item, fixtures):
            item.add_marker(MACHINE_GROUP)
            _join_the_group_in_xdist(item, "machine")


def _uses_the_machine(item: pytest.Item, fixtures: Sequence[str]) -> bool:
    """Whether the test needs what there is one of per machine (see the module docstring)."""
    return (
        item.get_closest_marker("machine") is not None
        or bool(MACHINE_FIXTURES.intersection(fixtures))
        or any(item.path.is_relative_to(path) for path in MACHINE_PATHS)
    )


def _join_the_group_in_xdist(item: pytest.Item, group: str) -> None:
    """xdist's `loadgroup` puts a test in its group by appending `@group` to its node id in a
    worker, through `_nodeid`, which pytest 9.2 no longer reads: there the groups are silently
    ignored (pytest-dev/pytest-xdist#1386, open; fix proposed in #1388). Append it where pytest
    9.2 keeps the id; a `@` already there (an xdist that writes it itself) is left alone."""
    if not getattr(item.config.option, "loadgroup", False) or "@" in item.nodeid:
        return
    if hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(f"{item.nodeid}@{group}")


def _docker_running() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    """The local platform for this test session; components start when first asked for."""
    run_dir = REPO_ROOT / ".run" / f"test-{os.getpid()}"
    local = LocalPlatform(run_dir, owner_pid=os.getpid(), progress=_build_progress)
    local.sweep_stale()
    try:
        yield local
    finally:
        had_node = "real node" in local.timings or "node network" in local.timings
        local.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
        # Stopping a real node must leave nothing on the host: fail the session otherwise.
        left = node.host_leftovers() if had_node else []
        assert not left, f"the real node left things behind after stopping: {left}"


def _build_progress(message: str) -> None:
    """Long one-time work (Go builds, images) is shown; the rest of start-up stays quiet."""
    if message.lstrip().startswith(("building", "built", "making", "…")):
        print(f"[platform] {message}", file=sys.__stderr__, flush=True)


@pytest.fixture
def short_tmp_path() -> Iterator[Path]:
    """A fresh directory with a short path, for the run directory of a test's own `modelplane dev
    up`: its kubelet binds unix sockets deep inside (`dev/node/kubelet/pod-resources/<n>`), and a
    socket's path must fit in 108 bytes, which xdist's longer `tmp_path`
    (`…/pytest-N/popen-gwN/<test name>0/`) exceeds. Removed afterwards unless something is still
    mounted in it (a node that did not stop: left for `make down` and a look)."""
    path = Path(tempfile.mkdtemp(prefix="mp-"))
    yield path
    mounts = Path("/proc/self/mounts").read_text().split("\n")
    if not any(f" {path}/" in line or f" {path} " in line for line in mounts):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def real_node(platform: LocalPlatform) -> RealNode:
    """The platform's real node: kubelet, kube-proxy and containerd with the platform's images
    (serving runtime, operator, pause) loaded, on a bridge the platform created. Pods that do not
    tolerate kwok's taint run here for real."""
    return platform.ensure_real_node()


@pytest.fixture(scope="session")
def kubeconfig(platform: LocalPlatform) -> Path:
    """Admin kubeconfig of a real control plane (etcd, apiserver, controller-manager, scheduler,
    kwok nodes)."""
    return platform.ensure_control_plane()


@pytest.fixture(scope="session")
def kube_api(kubeconfig: Path) -> Any:
    """A `kubernetes.client.ApiClient` for the admin identity."""
    from kubernetes import config

    return config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]  # kubernetes ships no annotations


Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def kubectl(kubeconfig: Path) -> Kubectl:
    """Run a real kubectl (built with the control plane, same version) against it.

    `kubectl("get", "ns", input=...)` raises on a non-zero exit unless `check=False` is passed."""

    def run(
        *args: str,
        input: str | None = None,
        check: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), **(extra_env or {})}
        result = subprocess.run(
            [str(KUBE.path("kubectl")), *args],
            input=input,
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    return run


@pytest.fixture(scope="session")
def postgres_admin_url(platform: LocalPlatform) -> str:
    """URL of the server's maintenance database (`postgresql+psycopg://…/postgres`)."""
    return platform.ensure_postgres().admin_url


@pytest.fixture(scope="session")
def database_url(platform: LocalPlatform) -> str:
    """URL of a fresh, empty database created for this test session."""
    return platform.ensure_postgres().create_database(f"test_{os.getpid()}")


@pytest.fixture(scope="session")
def redis_url(platform: LocalPlatform) -> str:
    return platform.ensure_redis().url


@pytest.fixture(scope="session")
def s3(platform: LocalPlatform) -> S3Endpoint:
    """A real S3 server (MinIO) with a bucket created for this session."""
    return platform.ensure_s3().with_bucket(f"test-{os.getpid()}")


@pytest.fixture
def aws_env(s3: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> S3Endpoint:
    """The standard AWS environment (what the drift job reads) pointed at the test S3 server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.setenv("AWS_REGION", s3.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint_url)
    return s3


@pytest.fixture
def s3_client(s3: S3Endpoint) -> Any:
    """A boto3 S3 client for the session's S3 server."""
    return s3.client()


@pytest.fixture(scope="session")
def mlflow_server(platform: LocalPlatform) -> MLflow:
    """A real MLflow server (PostgreSQL backend, S3 artifacts) and the tokens it accepts."""
    return platform.ensure_mlflow()


@pytest.fixture(scope="session")
def mlflow_uri(mlflow_server: MLflow) -> str:
    """Tracking URI of the session's MLflow server (calls need `mlflow_server.headers()`)."""
    return mlflow_server.url


def write_manifests(tmp_path: Path, documents: Sequence[str]) -> Path:
    """Write YAML documents to one file for `kubectl apply -f`."""
    path = tmp_path / "manifests.yaml"
    path.write_text("\n---\n".join(documents))
    return path
