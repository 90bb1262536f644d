"""`modelplane dev install`: the operator and the facade as pods on the running local platform.

It installs `manifests/overlays/dev` as the overlay's header asks of its tooling, onto the
platform `modelplane dev up` started (whose API server listens on the node's bridge, so pods
reach it):

1. the operator, facade, serving-runtime and pause images built (cached) and imported into the
   real node's containerd where missing;
2. the overlay rendered with `kubectl kustomize` into memory, every
   `localhost/modelplane/<name>:dev` replaced by the content tag just built (the committed files
   stay as they are);
3. the Secrets `modelplane-api` and `modelplane-operator-s3` from the run's credentials, and one
   EndpointSlice per selector-less Service (`postgres`, `redis`, `s3`, `mlflow`, `prometheus`)
   naming the node's bridge address and the run's port, where a forwarder process of the run
   (`forward.py`) listens;
4. the host's operator process stopped: it runs without leader election, so it and the pod would
   both act on every object; the host's facade process keeps serving (same database, same keys);
5. everything applied server-side, then both Deployments waited for.

The pure builders (`rendered_with_images`, `endpoint_slice`, the Secrets) are unit-tested; the
whole command by `tests/cli/test_dev_install.py` on the real node.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from modelplane_cli.local import node as real_node
from modelplane_cli.local.controlplane import run_kubectl
from modelplane_cli.local.images import REGISTRY, Image, ImageBuilder
from modelplane_cli.local.processes import (
    PlatformError,
    RunState,
    Supervisor,
    http_ok,
    wait_until,
)
from modelplane_cli.local.services import PLATFORM_NAMESPACE, REPO_ROOT

Progress = Callable[[str], None]
OVERLAY = REPO_ROOT / "manifests" / "overlays" / "dev"
FIELD_MANAGER = "modelplane-dev-install"
DEPLOYMENTS = ("modelplane-operator", "modelplane-api")
FACADE_SERVICE = "modelplane-api"
FORWARDER = "pod-forward"

SERVICES: dict[str, tuple[str, str]] = {
    "postgres": ("postgres", "postgres"),
    "redis": ("redis", "redis"),
    "s3": ("s3", "http"),
    "mlflow": ("mlflow", "http"),
    "prometheus": ("prometheus", "http"),
}
"""Selector-less Service of the overlay (services.yaml) → (the run's endpoint key, port name)."""


def rendered_with_images(rendered: str, refs: Mapping[str, str]) -> str:
    """The overlay's YAML with each `localhost/modelplane/<name>:dev` (image fields and the
    operator's image variables alike) replaced by the reference built for `<name>`."""

    def ref(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in refs:
            raise PlatformError(f"the dev overlay names image {match.group(0)}, not built here")
        return refs[name]

    return re.sub(re.escape(REGISTRY) + r"/([a-z0-9-]+):dev\b", ref, rendered)


def endpoint_slice(service: str, port_name: str, port: int, address: str) -> dict[str, Any]:
    """The EndpointSlice that binds selector-less Service `service` to `address:port`."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service}-local",
            "namespace": PLATFORM_NAMESPACE,
            "labels": {
                "kubernetes.io/service-name": service,
                "endpointslice.kubernetes.io/managed-by": FIELD_MANAGER,
                "app.kubernetes.io/part-of": "modelplane",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
    }


def run_ports(endpoints: Mapping[str, str]) -> dict[str, int]:
    """The port of each Service's server in this run (from the run's endpoint URLs)."""
    ports: dict[str, int] = {}
    for service, (key, _) in SERVICES.items():
        url = endpoints.get(key)
        port = urlsplit(url).port if url else None
        if port is None:
            raise PlatformError(f"the run records no {key} endpoint: is `dev up` complete?")
        ports[service] = port
    return ports


def _secret(name: str, data: Mapping[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": PLATFORM_NAMESPACE,
            "labels": {"app.kubernetes.io/part-of": "modelplane"},
        },
        "type": "Opaque",
        "stringData": dict(data),
    }


def api_secret(endpoints: Mapping[str, str], jwt_keys: str) -> dict[str, Any]:
    """`modelplane-api`: the run's database (its user; local connections need no password),
    Redis, JWT key ring (the host facade's, so tokens work on both) and S3 keys, by the
    in-cluster names of the overlay's Services."""
    user = urlsplit(endpoints["postgres"]).username or "postgres"
    svc = f"{PLATFORM_NAMESPACE}.svc"
    data = {
        "database-url": f"postgresql+psycopg://{user}@postgres.{svc}:5432/modelplane",
        "redis-url": f"redis://redis.{svc}:6379/0",
        "jwt-keys": jwt_keys,
        "s3-access-key-id": endpoints["s3-access-key"],
        "s3-secret-access-key": endpoints["s3-secret-key"],
    }
    if endpoints.get("mlflow-token"):  # the run's MLflow refuses calls without it
        data["mlflow-token"] = endpoints["mlflow-token"]
    return _secret("modelplane-api", data)


def operator_secret(endpoints: Mapping[str, str]) -> dict[str, Any]:
    """`modelplane-operator-s3`: the run's S3 keys as the operator's variables (envFrom), and
    the MinIO user it mints each drift job's own credentials as (when the run has one)."""
    data = {
        "MODELPLANE_OPERATOR_S3_ACCESS_KEY": endpoints["s3-access-key"],
        "MODELPLANE_OPERATOR_S3_SECRET_KEY": endpoints["s3-secret-key"],
    }
    if endpoints.get("s3-drift-access-key"):
        data |= {
            "MODELPLANE_OPERATOR_MONITOR_STS_ACCESS_KEY": endpoints["s3-drift-access-key"],
            "MODELPLANE_OPERATOR_MONITOR_STS_SECRET_KEY": endpoints["s3-drift-secret-key"],
        }
    return _secret("modelplane-operator-s3", data)


def operator_mlflow_secret(endpoints: Mapping[str, str]) -> dict[str, Any] | None:
    """`modelplane-operator-mlflow`: the tokens the run's MLflow accepts, the operator's own
    and the download-only one it hands serving pods (none for a run that recorded none)."""
    if not endpoints.get("mlflow-token"):
        return None
    return _secret(
        "modelplane-operator-mlflow",
        {
            "MODELPLANE_OPERATOR_MLFLOW_TOKEN": endpoints["mlflow-token"],
            "MODELPLANE_OPERATOR_RUNTIME_MLFLOW_TOKEN": endpoints["mlflow-reader-token"],
        },
    )


@dataclass(frozen=True)
class Installed:
    """What `dev install` installed and measured."""

    facade_url: str
    """The in-cluster facade's Service (ClusterIP, port 80), reachable from this host."""
    images: dict[str, str]
    seconds: dict[str, float]


def _import_missing(images: list[Image], progress: Progress) -> None:
    present = set(real_node.ctr("images", "ls", "-q").stdout.split())
    for image in images:
        if image.ref in present:
            continue
        progress(f"importing {image.ref} into the node's containerd …")
        real_node.ctr(
            "images", "import", "--platform", "linux/amd64", str(image.archive), timeout=600
        )


def install(run_dir: Path, progress: Progress, *, timeout: float = 300) -> Installed:
    """Install the dev overlay on the platform running in `run_dir` (see the module's text)."""
    state = RunState.load(run_dir / "state.json")
    if state is None or "kubeconfig" not in state.endpoints:
        raise PlatformError("the local platform is not running: start it with `modelplane dev up`")
    if "real-node" not in state.endpoints:
        raise PlatformError("the local platform has no real node: pods cannot run")
    endpoints = state.endpoints
    kubeconfig = Path(endpoints["kubeconfig"])
    if real_node.NODE_IP not in endpoints.get("kube-apiserver", ""):
        raise PlatformError("the API server listens on loopback: pods cannot reach it")
    seconds: dict[str, float] = {}
    began = time.monotonic()

    builder = ImageBuilder(progress)
    images = [builder.pause(), builder.runtime(), builder.operator(), builder.facade()]
    _import_missing(images, progress)
    refs = {image.name: image.ref for image in images}
    seconds["images"] = time.monotonic() - began

    rendered = rendered_with_images(run_kubectl(kubeconfig, "kustomize", str(OVERLAY)), refs)
    ports = run_ports(endpoints)
    sup = Supervisor(run_dir, state.owner_pid)
    if not sup.alive(FORWARDER):
        sup.start(
            FORWARDER,
            [sys.executable, "-m", "modelplane_cli.local.forward", real_node.NODE_IP,
             *map(str, ports.values())],
        )  # fmt: skip
    apply = ("apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}")
    # The namespace first: Secrets and EndpointSlices belong in it, the Deployments need them.
    run_kubectl(kubeconfig, *apply, "-f", str(REPO_ROOT / "manifests/base/operator/namespace.yaml"))
    jwt_keys = (run_dir / "api-jwt-keys.json").read_text()
    objects: list[dict[str, Any]] = [api_secret(endpoints, jwt_keys), operator_secret(endpoints)]
    if (mlflow_secret := operator_mlflow_secret(endpoints)) is not None:
        objects.append(mlflow_secret)
    objects += [
        endpoint_slice(service, SERVICES[service][1], port, real_node.NODE_IP)
        for service, port in ports.items()
    ]
    items = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    run_kubectl(kubeconfig, *apply, "-f", "-", stdin=items)

    if sup.alive("operator"):
        progress("stopping the host's operator process (the operator pod takes over)")
        sup.stop("operator")
    started = time.monotonic()
    run_kubectl(kubeconfig, *apply, "-f", "-", stdin=rendered, timeout=120)
    for name in DEPLOYMENTS:
        run_kubectl(
            kubeconfig, "-n", PLATFORM_NAMESPACE, "rollout", "status", f"deployment/{name}",
            f"--timeout={int(timeout)}s", timeout=timeout + 10,
        )  # fmt: skip
    seconds["pods ready"] = time.monotonic() - started
    cluster_ip = run_kubectl(
        kubeconfig, "-n", PLATFORM_NAMESPACE, "get", "service", FACADE_SERVICE,
        "-o", "jsonpath={.spec.clusterIP}",
    ).strip()  # fmt: skip
    facade_url = f"http://{cluster_ip}"
    # Ready pods are not yet a reachable Service: kube-proxy programs the ClusterIP a moment later.
    wait_until(lambda: http_ok(f"{facade_url}/ready"), timeout=60, what="the facade's Service")
    seconds["service reachable"] = time.monotonic() - started
    sup.set_endpoint("api-in-cluster", facade_url)
    seconds["total"] = time.monotonic() - began
    return Installed(facade_url, refs, seconds)
