"""The local platform as one object: what tests, `modelplane dev up` and benchmarks start.

Components start on demand and in dependency order (MLflow needs PostgreSQL and S3), each once
per run directory. A run directory belongs to an owner process (a test session) or to nobody
(`dev up`, which outlives the command); `sweep_stale` stops runs whose owner died.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar, cast

from modelplane_cli.local.binaries import ALL_BUILDS, CONTROL_PLANE_BUILDS, MINIO, ensure_built
from modelplane_cli.local.controlplane import ControlPlane, start_control_plane
from modelplane_cli.local.processes import Supervisor, sweep_stale_runs
from modelplane_cli.local.services import (
    FacadeApi,
    MLflow,
    Operator,
    Postgres,
    Redis,
    S3Endpoint,
    start_api,
    start_minio,
    start_mlflow,
    start_operator,
    start_postgres,
    start_redis,
)

__all__ = ["LocalPlatform", "S3Endpoint"]

Progress = Callable[[str], None]
T = TypeVar("T")


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
        self._started: dict[str, object] = {}
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def sweep_stale(self) -> list[str]:
        """Stop leftovers of runs whose owner died (a killed test session, say)."""
        return sweep_stale_runs(self.run_dir.parent, keep=self.run_dir)

    def _once(self, name: str, start: Callable[[], T]) -> T:
        """Start a component the first time it is asked for (thread-safe), timing it."""
        with self._locks[name]:
            if name not in self._started:
                self.progress(f"starting {name} …")
                began = time.monotonic()
                self._started[name] = start()
                self.timings[name] = time.monotonic() - began
                self.progress(f"{name} ready in {self.timings[name]:.1f} s")
        return cast(T, self._started[name])

    def ensure_built(self) -> None:
        """Build the Go binaries that are not cached yet (slow the first time only)."""
        ensure_built(ALL_BUILDS, self.progress)

    def ensure_control_plane(self) -> Path:
        """Start etcd, the API server, controller-manager, scheduler and kwok nodes; return the
        admin kubeconfig."""
        ensure_built(CONTROL_PLANE_BUILDS, self.progress)
        plane = self._once(
            "Kubernetes control plane", lambda: start_control_plane(self.supervisor, self.nodes)
        )
        return plane.kubeconfig

    @property
    def control_plane(self) -> ControlPlane | None:
        found = self._started.get("Kubernetes control plane")
        return found if isinstance(found, ControlPlane) else None

    def ensure_postgres(self) -> Postgres:
        return self._once("PostgreSQL", lambda: start_postgres(self.supervisor))

    def ensure_redis(self) -> Redis:
        return self._once("Redis", lambda: start_redis(self.supervisor))

    def ensure_s3(self) -> S3Endpoint:
        ensure_built((MINIO,), self.progress)
        return self._once("MinIO (S3)", lambda: start_minio(self.supervisor))

    def ensure_mlflow(self) -> MLflow:
        postgres, s3 = self.ensure_postgres(), self.ensure_s3()
        return self._once("MLflow", lambda: start_mlflow(self.supervisor, postgres, s3))

    def ensure_api(self) -> FacadeApi:
        """The facade API on the platform's PostgreSQL, Redis and (when started) control plane."""
        postgres, redis = self.ensure_postgres(), self.ensure_redis()
        plane = self.control_plane
        return self._once(
            "facade API",
            lambda: start_api(
                self.supervisor, postgres, redis, plane.kubeconfig if plane else None
            ),
        )

    def ensure_operator(self) -> Operator:
        """The operator (CRDs, ClusterRoles and admission webhooks installed) on the control
        plane, verifying artifacts from the platform's S3 and MLflow."""
        kubeconfig, s3, mlflow = self.ensure_control_plane(), self.ensure_s3(), self.ensure_mlflow()
        return self._once(
            "operator", lambda: start_operator(self.supervisor, kubeconfig, s3, mlflow)
        )

    def start_all(self) -> None:
        """Everything: independent components side by side, MLflow once its stores answer."""
        self.ensure_built()
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="start") as pool:
            waits = [
                pool.submit(start)
                for start in (self.ensure_control_plane, self.ensure_redis, self.ensure_mlflow)
            ]
            for future in waits:
                future.result()
        self.ensure_api()
        self.ensure_operator()

    def stop(self) -> None:
        """Stop every process of this run, newest first."""
        self.supervisor.stop()
        self._started.clear()
