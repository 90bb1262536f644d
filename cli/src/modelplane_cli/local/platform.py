"""The local platform as one object: what tests, `modelplane dev up` and benchmarks start.

Components start on demand and in dependency order (MLflow needs PostgreSQL and S3), each once
per run directory. A run directory belongs to an owner process (a test session) or to nobody
(`dev up`, which outlives the command); `sweep_stale` stops runs whose owner died.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from modelplane_cli.local.binaries import ALL_BUILDS, MINIO, ensure_built
from modelplane_cli.local.controlplane import ControlPlane, start_control_plane
from modelplane_cli.local.processes import Supervisor, sweep_stale_runs
from modelplane_cli.local.services import (
    MLflow,
    Postgres,
    Redis,
    S3Endpoint,
    start_minio,
    start_mlflow,
    start_postgres,
    start_redis,
)

__all__ = ["LocalPlatform", "S3Endpoint"]

Progress = Callable[[str], None]


class LocalPlatform:
    """Real control plane and services in one run directory, started when first needed."""

    def __init__(
        self,
        run_dir: Path,
        owner_pid: int | None = None,
        *,
        nodes: int = 3,
        progress: Progress | None = None,
    ) -> None:
        self.run_dir = run_dir = run_dir.resolve()
        self.nodes = nodes
        self.progress: Progress = progress or (lambda _message: None)
        self.supervisor = Supervisor(run_dir, owner_pid)
        self.timings: dict[str, float] = {}
        self._control_plane: ControlPlane | None = None
        self._postgres: Postgres | None = None
        self._redis: Redis | None = None
        self._s3: S3Endpoint | None = None
        self._mlflow: MLflow | None = None

    def sweep_stale(self) -> list[str]:
        """Stop leftovers of runs whose owner died (a killed test session, say)."""
        return sweep_stale_runs(self.run_dir.parent, keep=self.run_dir)

    def _timed(self, name: str, start: Callable[[], object]) -> None:
        self.progress(f"starting {name} …")
        began = time.monotonic()
        start()
        self.timings[name] = time.monotonic() - began
        self.progress(f"{name} ready in {self.timings[name]:.1f} s")

    def ensure_built(self) -> None:
        """Build the Go binaries that are not cached yet (slow the first time only)."""
        ensure_built(ALL_BUILDS, self.progress)

    def ensure_control_plane(self) -> Path:
        """Start etcd, the API server, controller-manager, scheduler and kwok nodes; return the
        admin kubeconfig."""
        if self._control_plane is None:
            ensure_built(ALL_BUILDS[:3], self.progress)

            def start() -> None:
                self._control_plane = start_control_plane(self.supervisor, self.nodes)

            self._timed("Kubernetes control plane", start)
        assert self._control_plane is not None
        return self._control_plane.kubeconfig

    @property
    def control_plane(self) -> ControlPlane | None:
        return self._control_plane

    def ensure_postgres(self) -> Postgres:
        if self._postgres is None:

            def start() -> None:
                self._postgres = start_postgres(self.supervisor)

            self._timed("PostgreSQL", start)
        assert self._postgres is not None
        return self._postgres

    def ensure_redis(self) -> Redis:
        if self._redis is None:

            def start() -> None:
                self._redis = start_redis(self.supervisor)

            self._timed("Redis", start)
        assert self._redis is not None
        return self._redis

    def ensure_s3(self) -> S3Endpoint:
        if self._s3 is None:
            ensure_built((MINIO,), self.progress)

            def start() -> None:
                self._s3 = start_minio(self.supervisor)

            self._timed("MinIO (S3)", start)
        assert self._s3 is not None
        return self._s3

    def ensure_mlflow(self) -> MLflow:
        if self._mlflow is None:
            postgres, s3 = self.ensure_postgres(), self.ensure_s3()

            def start() -> None:
                self._mlflow = start_mlflow(self.supervisor, postgres, s3)

            self._timed("MLflow", start)
        assert self._mlflow is not None
        return self._mlflow

    def start_all(self) -> None:
        """Everything, in dependency order."""
        self.ensure_built()
        self.ensure_postgres()
        self.ensure_redis()
        self.ensure_s3()
        self.ensure_mlflow()
        self.ensure_control_plane()

    def stop(self) -> None:
        """Stop every process of this run, newest first."""
        self.supervisor.stop()
        self._control_plane = self._postgres = self._redis = self._s3 = self._mlflow = None
