"""The local platform as one object: what tests, `modelplane dev up` and benchmarks start.

Components start on demand and in dependency order (MLflow needs PostgreSQL and S3), each once
per run directory. A run directory belongs to an owner process (a test session) or to nobody
(`dev up`, which outlives the command); `sweep_stale` stops runs whose owner died.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar, cast

from modelplane_cli.local import node as real_node
from modelplane_cli.local.binaries import (
    ALL_BUILDS,
    CONTROL_PLANE_BUILDS,
    KUBE,
    NODE_BUILDS,
    PROMETHEUS,
    S3_BUILDS,
    ensure_built,
)
from modelplane_cli.local.controlplane import (
    SERVICE_CIDR,
    ControlPlane,
    kubeconfig_file,
    start_control_plane,
)
from modelplane_cli.local.images import REGISTRY, ImageBuilder
from modelplane_cli.local.monitoring import PrometheusServer, start_prometheus
from modelplane_cli.local.node import RealNode
from modelplane_cli.local.processes import PlatformError, Supervisor, sweep_stale_runs
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

__all__ = ["LocalPlatform", "RealNode", "S3Endpoint"]

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
        real_node: bool = True,
        api_on_bridge: bool = False,
    ) -> None:
        self.run_dir = run_dir = run_dir.resolve()
        self.nodes = nodes
        self.node_problem: str | None = None
        """Why this run has no real node (None when it has one, or will on first use)."""
        if not real_node:
            self.node_problem = "this platform was started without a real node"
        else:
            self.node_problem = real_node_problem(run_dir)
        self.api_on_bridge = api_on_bridge and self.node_problem is None
        """Bind the API server on the node's bridge so pods reach it (in-cluster components;
        `dev up`). Otherwise it stays on loopback, where the node's kubelet and kube-proxy reach
        it too, and the node is claimed only when first asked for (a test session)."""
        self.progress: Progress = progress or (lambda _message: None)
        self.supervisor = Supervisor(run_dir, owner_pid)
        self.timings: dict[str, float] = {}
        self._started: dict[str, object] = {}
        self._locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)

    def sweep_stale(self) -> list[str]:
        """Stop leftovers of runs whose owner died (a killed test session, say), including the
        host changes of a real node such a run left behind."""
        stopped = sweep_stale_runs(self.run_dir.parent, keep=self.run_dir)
        left = real_node.reclaim_stale()
        if left is not None:
            stopped.append(f"{Path(left).name}/real node")
        return stopped

    @property
    def has_real_node(self) -> bool:
        return self.node_problem is None

    @property
    def host(self) -> str:
        """Where the API server listens: loopback, or the node's bridge address."""
        return real_node.NODE_IP if self.api_on_bridge else "127.0.0.1"

    def ensure_network(self) -> None:
        """Claim the machine's node and create its bridge (before anything binds to it)."""
        if self.has_real_node:
            self._once("node network", self._create_network)

    def _create_network(self) -> bool:
        real_node.claim_node(self.run_dir)
        real_node.create_network(SERVICE_CIDR)
        return True

    def pod_url(self, url: str) -> str:
        """The URL at which pods reach a platform server listening on 127.0.0.1 (`url`)."""
        prefix, _, rest = url.partition("://127.0.0.1:")
        if not rest or not self.has_real_node:
            raise PlatformError(f"pods cannot reach {url}: {self.node_problem or 'not loopback'}")
        self.ensure_network()
        port, _, path = rest.partition("/")
        return f"{prefix}://{real_node.expose(int(port))}" + (f"/{path}" if path else "")

    def ensure_real_node(self) -> RealNode:
        """The real node (containerd, kubelet, kube-proxy) with the platform's images loaded."""
        if self.node_problem is not None:
            raise PlatformError(f"no real node: {self.node_problem}")
        self.ensure_control_plane()
        self.ensure_network()
        ensure_built(NODE_BUILDS, self.progress)
        return self._once("real node", self._start_node)

    def _start_node(self) -> RealNode:
        plane = self.control_plane
        assert plane is not None
        images = ImageBuilder(self.progress).all()
        certs = real_node.issue_node_certs(
            plane.ca_authority, self.run_dir / "pki", plane.server, kubeconfig_file
        )

        def kubectl(*args: str, stdin: str | None = None) -> str:
            import subprocess

            result = subprocess.run(
                [str(KUBE.path("kubectl")), "--kubeconfig", str(plane.kubeconfig), *args],
                input=stdin,
                capture_output=True,
                text=True,
                check=True,
                timeout=30,
            )
            return result.stdout

        node = real_node.start_node(self.supervisor, certs, images, kubectl, self.progress)
        self.supervisor.set_endpoint("real-node", f"{node.name} ({node.ip})")
        return node

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
        if self.api_on_bridge:
            self.ensure_network()
        plane = self._once(
            "Kubernetes control plane",
            lambda: start_control_plane(
                self.supervisor, self.nodes, self.host, taint_kwok=self.has_real_node
            ),
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
        ensure_built(S3_BUILDS, self.progress)
        return self._once("MinIO (S3)", lambda: start_minio(self.supervisor))

    def ensure_mlflow(self) -> MLflow:
        postgres, s3 = self.ensure_postgres(), self.ensure_s3()
        return self._once("MLflow", lambda: start_mlflow(self.supervisor, postgres, s3))

    def ensure_prometheus(self) -> PrometheusServer:
        """Prometheus discovering serving pods on the control plane (and scraping the facade
        and the operator once they start)."""
        kubeconfig = self.ensure_control_plane()
        ensure_built((PROMETHEUS,), self.progress)
        return self._once("Prometheus", lambda: start_prometheus(self.supervisor, kubeconfig))

    @property
    def prometheus(self) -> PrometheusServer | None:
        found = self._started.get("Prometheus")
        return found if isinstance(found, PrometheusServer) else None

    def ensure_api(self) -> FacadeApi:
        """The facade API on the platform's PostgreSQL, Redis, MinIO, MLflow and (when started)
        control plane and Prometheus."""
        postgres, redis, s3 = self.ensure_postgres(), self.ensure_redis(), self.ensure_s3()
        mlflow = self.ensure_mlflow()
        plane, prometheus = self.control_plane, self.prometheus
        return self._once(
            "facade API",
            lambda: start_api(
                self.supervisor, postgres, redis, s3, mlflow, plane.kubeconfig if plane else None,
                prometheus.api_env() if prometheus else None,
            ),
        )  # fmt: skip

    def ensure_operator(self) -> Operator:
        """The operator (CRDs, ClusterRoles and admission webhooks installed) on the control
        plane, verifying artifacts from the platform's S3 and MLflow."""
        kubeconfig, s3, mlflow = self.ensure_control_plane(), self.ensure_s3(), self.ensure_mlflow()
        serving = self.serving_env(s3, mlflow) if self.has_real_node else None
        return self._once(
            "operator", lambda: start_operator(self.supervisor, kubeconfig, s3, mlflow, serving)
        )

    def serving_env(self, s3: S3Endpoint, mlflow: MLflow) -> dict[str, str]:
        """Operator variables that make serving pods run on the real node: the locally built
        runtime image, the operator image the drift monitors' jobs run, S3 and MLflow as pods
        reach them (with MLflow's download-only token), and placement on the real node."""
        node = self.ensure_real_node()
        prefix = "MODELPLANE_OPERATOR_"
        return {
            f"{prefix}DEFAULT_RUNTIME_IMAGE": node.images["serving-runtime"],
            f"{prefix}MONITOR_IMAGE": node.images["operator"],
            f"{prefix}IMAGE_ALLOWLIST": json.dumps(["ghcr.io/modelplane/", f"{REGISTRY}/"]),
            f"{prefix}RUNTIME_S3_ENDPOINT_URL": self.pod_url(s3.endpoint_url),
            f"{prefix}RUNTIME_MLFLOW_TRACKING_URI": self.pod_url(mlflow.url),
            # Downloads only, and only in MLflow's default workspace (modelplane_cli.mlflow_guard).
            f"{prefix}RUNTIME_MLFLOW_TOKEN": mlflow.reader_token,
            f"{prefix}SERVING_NODE_SELECTOR": json.dumps({real_node.REAL_NODE_LABEL: "real"}),
        }

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
        if self.has_real_node:
            self.ensure_real_node()
        prometheus = self.ensure_prometheus()
        prometheus.scrape("api", self.ensure_api().url + "/metrics")
        prometheus.scrape("operator", self.ensure_operator().metrics_url)

    def stop(self) -> None:
        """Stop every process of this run, newest first (the real node before the API server,
        whose etcd must outlive it), and undo the node's changes to the host."""
        real_node.stop_node(self.supervisor)
        self.supervisor.stop()
        self._started.clear()


def real_node_problem(run_dir: Path) -> str | None:
    """Why a run in `run_dir` cannot have the machine's real node now (None: it can)."""
    problem = real_node.node_supported()
    if problem is not None:
        return problem
    holder = real_node.node_holder(run_dir)
    if holder is not None:
        return (
            f"the machine's real node belongs to another running platform ({holder}); "
            "stop it with `make down`"
        )
    return None
