"""A real Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
and kwok with simulated nodes, on loopback (or, with a real node, the API server on the node's
bridge address so that pods reach it; see `node.py`).

This is what envtest does, plus the controller-manager, scheduler and kwok so that Deployments get
ReplicaSets and Pods, pods get scheduled onto kwok's fake nodes and turn Running and Ready. The
API server runs with RBAC, a secure port, an admin client certificate and service-account keys,
so authorization behaves as in a real cluster. Flags follow controller-runtime's envtest and
kwokctl's binary runtime (see docs/development.md).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from modelplane_cli.local.binaries import ETCD, GO_DIR, KUBE, KWOK, KWOK_VERSION
from modelplane_cli.local.pki import CertificateAuthority, CertPair, service_account_keys
from modelplane_cli.local.processes import (
    PlatformError,
    Supervisor,
    free_port,
    http_ok,
    wait_until,
)

SERVICE_CIDR = "10.96.0.0/16"
"""Room for tens of thousands of Services, as real clusters have (kubeadm's default is a /12):
every ModelDeployment has at least two, so envtest's /24 ran out at about a hundred."""
KUBERNETES_SERVICE_IP = str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))
POD_CIDR = "10.244.0.0/16"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
AUDIT_POLICY = (
    Path(__file__).resolve().parents[4] / "manifests" / "control-plane" / "audit-policy.yaml"
)
"""Metadata-level audit of `modelplane.io` requests: who (and as whom) changed what."""
# kwok's own stage definitions (Apache-2.0), read from its module; "fast" stages move pods
# straight to Running and Ready, the lease heartbeat keeps nodes Ready cheaply.
KWOK_STAGE_FILES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)


@dataclass(frozen=True)
class ControlPlane:
    """How to reach a running control plane."""

    server: str
    kubeconfig: Path
    ca: Path
    etcd_url: str
    nodes: int
    ca_authority: CertificateAuthority
    host: str
    """Address the API server listens on: loopback, or the real node's bridge address."""
    audit_log: Path
    """The API server's audit log (JSON lines, one event per `modelplane.io` request)."""


def kubeconfig_file(path: Path, server: str, ca_pem: bytes, client: CertPair, user: str) -> Path:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "modelplane-local",
        "clusters": [
            {
                "name": "modelplane-local",
                "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(client.cert.read_bytes()),
                    "client-key-data": b64(client.key.read_bytes()),
                },
            }
        ],
        "contexts": [
            {"name": "modelplane-local", "context": {"cluster": "modelplane-local", "user": user}}
        ],
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def _https_ok(url: str, ca: Path, client: CertPair | None = None) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    with urllib.request.urlopen(url, timeout=3, context=context) as response:  # noqa: S310
        return int(response.status) == 200


def _insecure_ok(url: str) -> bool:
    """Health of components serving with self-signed certificates of their own."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=3, context=context) as response:  # noqa: S310
        return int(response.status) == 200


def kwok_stages(run_dir: Path) -> Path:
    """Assemble kwok's stage configuration from its Go module (downloaded for the build)."""
    out = run_dir / "kwok-stages.yaml"
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{KWOK_VERSION}"],
        capture_output=True,
        text=True,
        cwd=GO_DIR / "kube",
        check=False,
        env={"GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", **_go_env()},
    )
    if result.returncode != 0:
        raise PlatformError(f"cannot locate kwok's stage files: {result.stderr}")
    stage_root = Path(json.loads(result.stdout)["Dir"]) / "kustomize" / "stage"
    out.write_text("\n---\n".join((stage_root / f).read_text() for f in KWOK_STAGE_FILES))
    return out


def _go_env() -> dict[str, str]:
    import os

    keep = ("HOME", "PATH", "GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB")
    return {k: v for k, v in os.environ.items() if k in keep}


def start_control_plane(
    sup: Supervisor, nodes: int = 3, host: str = "127.0.0.1", taint_kwok: bool = False
) -> ControlPlane:
    """Start every control-plane process in order, wait for each, and create kwok nodes.

    `host` is the address the API server binds and advertises: loopback, or the real node's
    bridge address so that pods reach it (then the `kubernetes` Service has that endpoint).
    `taint_kwok` taints the simulated nodes so only pods that tolerate it land there."""
    for build in (ETCD, KUBE, KWOK):
        if not build.is_built():
            raise PlatformError(f"{build.name} is not built yet: run `modelplane dev build`")
    pki = sup.run_dir / "pki"
    ca = CertificateAuthority(pki)
    sa = service_account_keys(pki)
    serving = ca.issue(
        "apiserver",
        "kube-apiserver",
        server_hosts=(
            "127.0.0.1",
            "localhost",
            host,
            KUBERNETES_SERVICE_IP,
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ),
    )
    clients = {
        "admin": ca.issue("admin", "modelplane-admin", organization="system:masters", client=True),
        "controller-manager": ca.issue(
            "controller-manager", "system:kube-controller-manager", client=True
        ),
        "scheduler": ca.issue("scheduler", "system:kube-scheduler", client=True),
        "kwok": ca.issue("kwok", "kwok-controller", organization="system:masters", client=True),
    }
    kubelet_client = ca.issue(
        "apiserver-kubelet-client",
        "kube-apiserver-kubelet-client",
        organization="system:masters",
        client=True,
    )

    etcd_port, peer_port = free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    log = sup.start(
        "etcd",
        _argv(
            ETCD.path("etcd"),
            {
                "--name": "local",
                "--data-dir": str(sup.run_dir / "etcd"),
                "--listen-client-urls": etcd_url,
                "--advertise-client-urls": etcd_url,
                "--listen-peer-urls": f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls": f"http://127.0.0.1:{peer_port}",
                "--initial-cluster": f"local=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync": "true",
                "--quota-backend-bytes": str(4 * 1024**3),
                "--log-level": "warn",
            },
        ),
    )
    wait_until(
        lambda: _http_json(f"{etcd_url}/health").get("health") == "true",
        timeout=60,
        what="etcd",
        log=log,
        alive=lambda: sup.alive("etcd"),
    )

    api_port = free_port()
    server = f"https://{host}:{api_port}"
    audit_log = sup.run_dir / "logs" / "kube-apiserver-audit.log"
    log = sup.start(
        "kube-apiserver",
        _argv(
            KUBE.path("kube-apiserver"),
            {
                "--etcd-servers": etcd_url,
                "--bind-address": host,
                "--advertise-address": host,  # without a default route it refuses to start
                "--secure-port": str(api_port),
                "--cert-dir": str(pki),
                "--tls-cert-file": str(serving.cert),
                "--tls-private-key-file": str(serving.key),
                "--client-ca-file": str(ca.cert_path),
                "--service-cluster-ip-range": SERVICE_CIDR,
                "--allow-privileged": "true",
                "--authorization-mode": "Node,RBAC",
                "--service-account-issuer": "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file": str(sa.cert),
                "--service-account-signing-key-file": str(sa.key),
                "--enable-priority-and-fairness": "false",
                "--profiling": "false",
                # With a real node the `kubernetes` Service points at the bridge address, so
                # pods reach the API server; on loopback there is nobody to reach it.
                "--endpoint-reconciler-type": "lease" if host != "127.0.0.1" else "none",
                "--kubelet-client-certificate": str(kubelet_client.cert),
                "--kubelet-client-key": str(kubelet_client.key),
                "--kubelet-certificate-authority": str(ca.cert_path),
                # Otherwise logs/exec resolve the node name through DNS, off this machine.
                "--kubelet-preferred-address-types": "InternalIP",
                "--audit-policy-file": str(AUDIT_POLICY),
                "--audit-log-path": str(audit_log),
                "--audit-log-format": "json",
                "--audit-log-maxsize": "100",  # MiB, then rotated
                "--audit-log-maxbackup": "3",
                "-v": "1",
            },
        ),
    )
    wait_until(
        lambda: _https_ok(f"{server}/readyz", ca.cert_path, clients["admin"]),
        timeout=180,
        what="kube-apiserver",
        log=log,
        alive=lambda: sup.alive("kube-apiserver"),
    )

    kubeconfigs = {
        name: kubeconfig_file(sup.run_dir / f"{name}.kubeconfig", server, ca.pem, pair, name)
        for name, pair in clients.items()
    }

    _start_component(
        sup,
        "kube-controller-manager",
        kubeconfigs["controller-manager"],
        {
            "--use-service-account-credentials": "true",
            "--service-account-private-key-file": str(sa.key),
            "--root-ca-file": str(ca.cert_path),
            "--cluster-cidr": POD_CIDR,
            "--service-cluster-ip-range": SERVICE_CIDR,
            # No cloud, no pod network: skip the controllers that need one.
            "--controllers": "*,-nodeipam,-cloud-node-lifecycle,-route,-service",
            "--concurrent-deployment-syncs": "10",
            "--concurrent-replicaset-syncs": "10",
        },
    )
    _start_component(sup, "kube-scheduler", kubeconfigs["scheduler"], {})

    kwok_port = free_port()
    log = sup.start(
        "kwok",
        _argv(
            KWOK.path("kwok"),
            {
                "--kubeconfig": str(kubeconfigs["kwok"]),
                "--config": str(kwok_stages(sup.run_dir)),
                "--manage-all-nodes": "false",
                "--manage-nodes-with-annotation-selector": f"{KWOK_NODE_ANNOTATION}=fake",
                "--cidr": POD_CIDR,
                "--node-ip": "127.0.0.1",
                "--server-address": f"127.0.0.1:{kwok_port}",
                "--node-lease-duration-seconds": "40",
            },
        ),
    )
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{kwok_port}/healthz"),
        timeout=60,
        what="kwok",
        log=log,
        alive=lambda: sup.alive("kwok"),
    )

    plane = ControlPlane(
        server, kubeconfigs["admin"], ca.cert_path, etcd_url, nodes, ca, host, audit_log
    )
    _create_nodes(plane, nodes, taint_kwok)
    _wait_nodes_and_service_account(plane, nodes, sup)
    sup.set_endpoint("kubeconfig", str(plane.kubeconfig))
    sup.set_endpoint("kube-apiserver", server)
    sup.set_endpoint("kube-apiserver-audit-log", str(audit_log))
    return plane


def _argv(binary: Path, flags: dict[str, str]) -> list[str]:
    return [str(binary), *(f"{flag}={value}" for flag, value in flags.items())]


def _start_component(sup: Supervisor, name: str, kubeconfig: Path, flags: dict[str, str]) -> None:
    """Start a controller-manager-style component (same common flags) and wait for /healthz."""
    port = free_port()
    common = {
        "--kubeconfig": str(kubeconfig),
        "--authentication-kubeconfig": str(kubeconfig),
        "--authorization-kubeconfig": str(kubeconfig),
        "--bind-address": "127.0.0.1",
        "--secure-port": str(port),
        "--leader-elect": "false",
        "--kube-api-qps": "200",
        "--kube-api-burst": "400",
        "-v": "1",
    }
    log = sup.start(name, _argv(KUBE.path(name), {**common, **flags}))
    wait_until(
        lambda: _insecure_ok(f"https://127.0.0.1:{port}/healthz"),
        timeout=60,
        what=name,
        log=log,
        alive=lambda: sup.alive(name),
    )


def _http_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
        data = json.loads(response.read())
    return data if isinstance(data, dict) else {}


def node_manifest(name: str, taints: list[dict[str, str]] | None = None) -> dict[str, object]:
    """A kwok-managed Node with room for many pods."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/agent": "",
                "topology.kubernetes.io/zone": f"zone-{name[-1]}",
            },
        },
        "spec": {"taints": taints} if taints else {},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "250"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "250"},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "fake",
                "kubeProxyVersion": "fake",
            },
            "phase": "Running",
        },
    }


def run_kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = 120
) -> str:
    """Run the platform's kubectl with `kubeconfig`: its output, or PlatformError with its error."""
    result = subprocess.run(
        [str(KUBE.path("kubectl")), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise PlatformError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


NOT_YET_OBSERVED = ".status.conditions accessor error"
"""How `kubectl wait --for=condition=…` fails, instead of waiting, on an object whose status
is still empty (a CRD right after its create or update)."""


def wait_established(kubeconfig: Path, *crds: str, timeout: float = 60) -> None:
    """Wait until each CRD (`crd/<name>`) is Established, asking again while `kubectl wait`
    answers that the status is still empty; any other failure, or the deadline, raises."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            wait = ("wait", "--for=condition=Established", f"--timeout={int(timeout)}s")
            run_kubectl(kubeconfig, *wait, *crds, timeout=timeout + 30)
            return
        except PlatformError as exc:
            if NOT_YET_OBSERVED not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _kubectl(plane: ControlPlane, *args: str, stdin: str | None = None) -> str:
    return run_kubectl(plane.kubeconfig, *args, stdin=stdin, timeout=60)


SIMULATED_TAINT = {"key": "modelplane.io/simulated", "value": "true", "effect": "NoSchedule"}
"""Taint of kwok's nodes while a real node is up: only pods that tolerate it are simulated."""


def _create_nodes(plane: ControlPlane, count: int, taint: bool) -> None:
    taints = [SIMULATED_TAINT] if taint else None
    docs = [json.dumps(node_manifest(f"kwok-node-{i}", taints)) for i in range(count)]
    _kubectl(plane, "apply", "-f", "-", stdin="\n---\n".join(docs))


def _wait_nodes_and_service_account(plane: ControlPlane, count: int, sup: Supervisor) -> None:
    def nodes_ready() -> bool:
        data = json.loads(_kubectl(plane, "get", "nodes", "-o", "json"))
        ready = [
            n
            for n in data["items"]
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in n.get("status", {}).get("conditions", [])
            )
        ]
        return len(ready) >= count

    log = sup.run_dir / "logs" / "kwok.log"
    wait_until(nodes_ready, timeout=90, what="kwok nodes Ready", log=log, interval=0.5)
    # Pods are refused until the controller-manager has created the namespace's default
    # service account; wait for it so the first `kubectl apply` of a Deployment just works.
    wait_until(
        lambda: bool(_kubectl(plane, "get", "serviceaccount", "default", "-o", "name")),
        timeout=60,
        what="default service account",
        interval=0.5,
        log=sup.run_dir / "logs" / "kube-controller-manager.log",
    )
