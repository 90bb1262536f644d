"""The local platform's real node: kubelet, kube-proxy and containerd (runc, CNI bridge) on a
bridge the platform creates, so that serving pods and monitor jobs really run.

kwok's simulated nodes stay beside it, tainted `modelplane.io/simulated=true:NoSchedule`: a pod
lands on them only when it tolerates the taint (scale tests do), everything else runs here. The
facts this follows were measured on this kind of machine (`shared/notes/real-node.md`).

A node changes the host, so there is one per machine: a claim file (`/run/modelplane/node.json`)
names the run that owns it and records what must be undone. `teardown` undoes all of it, in this
order, and is idempotent (a killed run's claim is torn down by the next run that sweeps):

1. container processes and their shims (found by cgroup and by our containerd socket);
2. kubelet, kube-proxy and containerd (the run's processes);
3. iptables chains of kube-proxy, the kubelet and ours (`KUBE-*`, `MODELPLANE-*`), IPv4 and IPv6;
4. mounts under the node's folders (the kubelet bind-mounts its root onto itself; pods' volumes,
   rootfs and network namespaces);
5. the bridge and any veth left on it (the route of the service range goes with it);
6. sysctls the kubelet and the bridge plugin change, restored to what they were;
7. paths outside the run directory that the kubelet and CNI create even when configured
   elsewhere (`/var/lib/kubelet`, `/var/log/pods`, `/var/log/containers`, `/var/lib/cni`),
   removed only when the node created them.

Networking: the bridge `mp0` holds the node IP (10.245.0.1, the pods' gateway); the service range
is routed onto the bridge, so a ClusterIP that kube-proxy does not (yet) translate stays on this
machine; a FORWARD rule drops whatever a pod sends off the bridge (pods reach this host and each
other, nothing else). Servers of the platform stay on loopback; `expose(port)` makes one reachable
from pods at the node IP by DNAT (`route_localnet` on the bridge only).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from modelplane_cli.local.binaries import CONTAINERD, COREDNS, KUBE
from modelplane_cli.local.controlplane import SERVICE_CIDR, SIMULATED_TAINT
from modelplane_cli.local.images import Image
from modelplane_cli.local.pki import CertificateAuthority
from modelplane_cli.local.processes import (
    PlatformError,
    RunState,
    Supervisor,
    free_port,
    http_ok,
    pid_alive,
    wait_until,
)

NODE_NAME = "modelplane-node"
BRIDGE = "mp0"
NODE_SUBNET = "10.245.0.0/24"
NODE_IP = "10.245.0.1"
CLUSTER_DOMAIN = "cluster.local"
KUBELET_PORT = 10250
REAL_NODE_LABEL = "modelplane.io/node"
"""Label of the real node (value `real`); kwok nodes carry `type=kwok`."""
KWOK_PLACEMENT = {
    "node_selector": {"type": "kwok"},
    "tolerations": [{**SIMULATED_TAINT, "operator": "Equal"}],
}
"""Scheduling that puts a pod on kwok's simulated nodes (scale tests, fake images)."""
CLAIM_DIR = Path("/run/modelplane")
CLAIM = CLAIM_DIR / "node.json"
CONTAINERD_SOCKET = CLAIM_DIR / "containerd.sock"
"""Fixed and short (a unix socket path has at most 107 bytes); one node per machine."""
RUNC = Path("/usr/sbin/runc")
CNI_BIN_DIR = Path("/usr/lib/cni")
CHANGED_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
"""Set by the kubelet (and the bridge plugin: ip_forward); recorded at start, restored on stop."""
HOST_PATHS = (
    Path("/var/lib/kubelet"),
    Path("/var/log/pods"),
    Path("/var/log/containers"),
    Path("/var/lib/cni"),
)
"""Created by the kubelet or CNI even when their roots are elsewhere."""
OUR_CHAINS = ("MODELPLANE-FORWARD", "MODELPLANE-EXPOSE")
DNS_USER = "system:modelplane:coredns"
DNS_RBAC = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "modelplane:coredns"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "namespaces", "pods"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "modelplane:coredns"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "modelplane:coredns",
            },
            "subjects": [
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": DNS_USER}
            ],
        },
    ],
}
"""What the cluster DNS may read (CoreDNS's own upstream ClusterRole, less what we do not use)."""

Progress = Callable[[str], None]


@dataclass
class Claim:
    """Who owns the machine's node, and what its start changed."""

    run_dir: str
    sysctls: dict[str, str] = field(default_factory=dict)
    created_paths: list[str] = field(default_factory=list)
    node_dir: str = ""
    pid: int = 0
    """The process that took the claim: until a `dev up` run has started its first process, its
    state names no live process, and only this keeps another session's sweep off its node."""

    @classmethod
    def load(cls) -> Claim | None:
        try:
            return cls(**json.loads(CLAIM.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self) -> None:
        CLAIM_DIR.mkdir(parents=True, exist_ok=True)
        tmp = CLAIM.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(CLAIM)


def _run_alive(run_dir: Path) -> bool:
    """Whether the run that owns a claim still exists (its owner, or any of its processes)."""
    state = RunState.load(run_dir / "state.json")
    if state is None:
        return False
    if state.owner_pid is not None:
        return pid_alive(state.owner_pid)
    return any(pid_alive(p.pid) for p in state.processes)


def _claim_alive(claim: Claim) -> bool:
    """Whether the claim's run still exists, or the process that took it still runs."""
    return (claim.pid > 0 and pid_alive(claim.pid)) or _run_alive(Path(claim.run_dir))


def node_holder(run_dir: Path) -> str | None:
    """The run directory of another live run that owns this machine's node, if any."""
    claim = Claim.load()
    if claim is None or Path(claim.run_dir) == run_dir:
        return None
    return claim.run_dir if _claim_alive(claim) else None


def reclaim_stale() -> str | None:
    """Tear down a node whose run is gone; returns that run's directory (None: nothing to do)."""
    claim = Claim.load()
    if claim is None or _claim_alive(claim):
        return None
    teardown(claim)
    return claim.run_dir


def node_supported() -> str | None:
    """Why this machine cannot run the node (None when it can)."""
    if os.geteuid() != 0:
        return "the real node needs root (network namespaces, mounts, cgroups, iptables)"
    for tool in ("ip", "iptables", "mount", "umount"):
        if not any((Path(d) / tool).exists() for d in ("/usr/sbin", "/sbin", "/usr/bin")):
            return f"`{tool}` is missing (scripts/setup.sh installs the node's packages)"
    if not RUNC.exists():
        return f"runc is missing at {RUNC} (Debian package `runc`; scripts/setup.sh installs it)"
    if not (CNI_BIN_DIR / "bridge").exists():
        return "the CNI plugins are missing (Debian package `containernetworking-plugins`)"
    return None


def _sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=60)
    if check and result.returncode != 0:
        raise PlatformError(f"{' '.join(argv)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def _read_sysctl(name: str) -> str | None:
    try:
        return _sysctl_path(name).read_text().strip()
    except OSError:
        return None


def _write_sysctl(name: str, value: str) -> None:
    with contextlib.suppress(OSError):
        _sysctl_path(name).write_text(value)


def claim_node(run_dir: Path) -> Claim:
    """Make this run the node's owner (tearing down a dead run's node first)."""
    problem = node_supported()
    if problem is not None:
        raise PlatformError(problem)
    holder = node_holder(run_dir)
    if holder is not None:
        raise PlatformError(
            f"the real node of this machine belongs to another running platform ({holder}); "
            "stop it first (`make down`) — one node per machine"
        )
    stale = Claim.load()
    if stale is not None:
        teardown(stale)
    claim = Claim(
        str(run_dir),
        sysctls={n: v for n in CHANGED_SYSCTLS if (v := _read_sysctl(n)) is not None},
        created_paths=[str(p) for p in HOST_PATHS if not p.exists()],
        node_dir=str(run_dir / "node"),
        pid=os.getpid(),
    )
    claim.save()
    return claim


def create_network(service_cidr: str) -> None:
    """The bridge with the node IP, the service range routed onto it, and the pod guards."""
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        _sh("ip", "link", "add", BRIDGE, "type", "bridge")
    _sh("ip", "addr", "replace", f"{NODE_IP}/24", "dev", BRIDGE)
    _sh("ip", "link", "set", BRIDGE, "up")
    _sh("ip", "route", "replace", service_cidr, "dev", BRIDGE, "src", NODE_IP)
    _write_sysctl(f"net.ipv4.conf.{BRIDGE}.route_localnet", "1")
    # Bridged pod-to-pod replies must pass conntrack, or a Service between two pods of the bridge
    # answers from the wrong address (br_netfilter; built into this kind of kernel).
    _write_sysctl("net.bridge.bridge-nf-call-iptables", "1")
    for table, chain, hook in (
        ("filter", "MODELPLANE-FORWARD", "FORWARD"),
        ("nat", "MODELPLANE-EXPOSE", "PREROUTING"),
    ):
        _sh("iptables", "-w", "-t", table, "-N", chain, check=False)
        _sh("iptables", "-w", "-t", table, "-F", chain)
        if _sh("iptables", "-w", "-t", table, "-C", hook, "-j", chain, check=False).returncode:
            _sh("iptables", "-w", "-t", table, "-I", hook, "1", "-j", chain)
    # Pods answer and talk among themselves, never to anything off this machine.
    _sh(
        "iptables",
        "-w",
        "-A",
        "MODELPLANE-FORWARD",
        "-i",
        BRIDGE,
        "!",
        "-o",
        BRIDGE,
        "-j",
        "DROP",
        "-m",
        "comment",
        "--comment",
        "modelplane: pods reach nothing off the machine",
    )


def expose(port: int) -> str:
    """Make a server on 127.0.0.1:`port` reachable from pods at `NODE_IP:port`; returns it."""
    rule = [
        "-t",
        "nat",
        "MODELPLANE-EXPOSE",
        "-i",
        BRIDGE,
        "-d",
        NODE_IP,
        "-p",
        "tcp",
        "--dport",
        str(port),
        "-j",
        "DNAT",
        "--to-destination",
        f"127.0.0.1:{port}",
    ]
    check = ["iptables", "-w", rule[0], rule[1], "-C", *rule[2:]]
    if _sh(*check, check=False).returncode != 0:
        _sh("iptables", "-w", rule[0], rule[1], "-A", *rule[2:])
    return f"{NODE_IP}:{port}"


@dataclass(frozen=True)
class NodeCerts:
    """Certificates of the node's components, issued by the platform's CA."""

    kubelet_kubeconfig: Path
    proxy_kubeconfig: Path
    dns_kubeconfig: Path
    serving_cert: Path
    serving_key: Path
    ca: Path


def issue_node_certs(
    ca: CertificateAuthority, folder: Path, server: str, kubeconfig: Callable[..., Path]
) -> NodeCerts:
    """The kubelet's own identity (Node authorizer, not admin), its serving certificate, and
    kube-proxy's identity (bound by default to `system:node-proxier`)."""
    kubelet = ca.issue(
        "kubelet-client", f"system:node:{NODE_NAME}", organization="system:nodes", client=True
    )
    proxy = ca.issue("kube-proxy", "system:kube-proxy", client=True)
    dns = ca.issue("coredns", DNS_USER, client=True)
    serving = ca.issue("kubelet-serving", NODE_NAME, server_hosts=(NODE_IP, NODE_NAME))
    return NodeCerts(
        kubeconfig(folder / "kubelet.kubeconfig", server, ca.pem, kubelet, "kubelet"),
        kubeconfig(folder / "kube-proxy.kubeconfig", server, ca.pem, proxy, "kube-proxy"),
        kubeconfig(folder / "coredns.kubeconfig", server, ca.pem, dns, "coredns"),
        serving.cert,
        serving.key,
        ca.cert_path,
    )


@dataclass(frozen=True)
class RealNode:
    """How to reach the running node."""

    name: str
    ip: str
    containerd_socket: Path
    images: dict[str, str]
    """Image name (`serving-runtime`, `operator`, `pause`) → reference loaded on the node."""


def _containerd_config(node_dir: Path, pause_ref: str) -> Path:
    folder = node_dir / "containerd"
    hosts = folder / "certs.d" / "_default"
    hosts.mkdir(parents=True, exist_ok=True)
    # No registry is reachable from here, and a pull must never try one: every registry is
    # "mirrored" to a closed loopback port, so a missing image fails at once (ErrImagePull).
    (hosts / "hosts.toml").write_text(
        'server = "http://127.0.0.1:9"\n\n[host."http://127.0.0.1:9"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )
    config = f"""version = 3
root = "{folder / "root"}"
state = "{folder / "state"}"
disabled_plugins = ["io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "{CONTAINERD_SOCKET}"

[ttrpc]
  address = "{CONTAINERD_SOCKET}.ttrpc"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{pause_ref}"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "{folder / "certs.d"}"

[plugins."io.containerd.cri.v1.runtime"]
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc (real-node.md).
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{CNI_BIN_DIR}"]
    conf_dir = "{node_dir / "cni" / "net.d"}"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""
    path = folder / "config.toml"
    path.write_text(config)
    return path


def _cni_config(node_dir: Path, service_cidr: str) -> None:
    net_d = node_dir / "cni" / "net.d"
    net_d.mkdir(parents=True, exist_ok=True)
    conflist = {
        "cniVersion": "1.0.0",
        "name": "modelplane",
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,  # nothing leaves the machine; pods need no NAT
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": NODE_SUBNET, "gateway": NODE_IP}]],
                    # Pods get no default route: the bridge reaches this host and the other
                    # pods, the service range goes to kube-proxy, nothing else is reachable.
                    "routes": [{"dst": service_cidr, "gw": NODE_IP}],
                    "dataDir": str(node_dir / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    (net_d / "10-modelplane.conflist").write_text(json.dumps(conflist, indent=2))


def _kubelet_config(node_dir: Path, certs: NodeCerts, healthz_port: int) -> Path:
    resolv = node_dir / "resolv.conf"
    # Pods resolve through the platform's own DNS on the node IP, never the host's resolvers
    # (a lookup would leave the machine); with no DNS server running they simply fail.
    resolv.write_text(f"nameserver {NODE_IP}\noptions ndots:1 timeout:1 attempts:1\n")
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(certs.serving_cert),
        "tlsPrivateKeyFile": str(certs.serving_key),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        # Only clients with a certificate of the platform's CA (the API server) get in.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(certs.ca)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
        "clusterDNS": [NODE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(resolv),
        "podLogsDir": str(node_dir / "pod-logs"),
        "serializeImagePulls": False,
        "maxPods": 110,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "2%",
            "imagefs.available": "2%",
            "nodefs.inodesFree": "2%",
        },
        "imageGCHighThresholdPercent": 99,
        "imageGCLowThresholdPercent": 95,
        "shutdownGracePeriod": "0s",
        "nodeStatusUpdateFrequency": "5s",
        "syncFrequency": "10s",
        "fileCheckFrequency": "20s",
        "volumeStatsAggPeriod": "1m",
    }
    path = node_dir / "kubelet.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _proxy_config(node_dir: Path, certs: NodeCerts, healthz: int, metrics: int) -> Path:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(certs.proxy_kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": NODE_SUBNET,
        "detectLocalMode": "ClusterCIDR",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        "healthzBindAddress": f"127.0.0.1:{healthz}",
        "metricsBindAddress": f"127.0.0.1:{metrics}",
        "iptables": {"localhostNodePorts": False, "syncPeriod": "30s", "minSyncPeriod": "0s"},
        # Zeros leave the host's conntrack sysctls alone.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }
    path = node_dir / "kube-proxy.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def ctr(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run containerd's `ctr` in the CRI namespace of the node."""
    result = subprocess.run(
        [str(CONTAINERD.path("ctr")), "--address", str(CONTAINERD_SOCKET), "-n", "k8s.io", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise PlatformError(f"ctr {' '.join(args)}: {result.stderr.strip()}")
    return result


def start_node(
    sup: Supervisor,
    certs: NodeCerts,
    images: list[Image],
    kubectl: Callable[..., str],
    progress: Progress,
) -> RealNode:
    """containerd (images imported), kubelet, kube-proxy and the cluster DNS; returns once the
    node is Ready and the DNS answers."""
    node_dir = sup.run_dir / "node"
    node_dir.mkdir(parents=True, exist_ok=True)
    pause = next(i for i in images if i.name == "pause")
    _cni_config(node_dir, SERVICE_CIDR)
    config = _containerd_config(node_dir, pause.ref)
    path = f"{CONTAINERD.folder}:{os.environ.get('PATH', '')}"  # its shim first (real-node.md)
    CONTAINERD_SOCKET.unlink(missing_ok=True)
    log = sup.start(
        "containerd",
        [str(CONTAINERD.path("containerd")), "--config", str(config), "--log-level", "warn"],
        env={"PATH": path},
    )
    wait_until(
        lambda: ctr("version", timeout=5).returncode == 0,
        timeout=60,
        what="containerd",
        log=log,
        alive=lambda: sup.alive("containerd"),
    )
    for image in images:
        began = time.monotonic()
        ctr("images", "import", "--platform", "linux/amd64", str(image.archive), timeout=600)
        progress(f"  image {image.ref} loaded into containerd in {time.monotonic() - began:.1f} s")

    healthz = free_port()
    log = sup.start(
        "kubelet",
        [
            str(KUBE.path("kubelet")),
            f"--config={_kubelet_config(node_dir, certs, healthz)}",
            f"--kubeconfig={certs.kubelet_kubeconfig}",
            f"--root-dir={node_dir / 'kubelet'}",
            f"--node-ip={NODE_IP}",
            f"--hostname-override={NODE_NAME}",
            f"--node-labels={REAL_NODE_LABEL}=real",
            "-v=1",
        ],
        env={"PATH": path},
    )

    def ready() -> bool:
        node = json.loads(kubectl("get", "node", NODE_NAME, "-o", "json"))
        return any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in node.get("status", {}).get("conditions", [])
        )

    wait_until(
        ready,
        timeout=120,
        what="the real node Ready",
        log=log,
        interval=0.5,
        alive=lambda: sup.alive("kubelet"),
    )

    proxy_healthz, proxy_metrics = free_port(), free_port()
    log = sup.start(
        "kube-proxy",
        [
            str(KUBE.path("kube-proxy")),
            f"--config={_proxy_config(node_dir, certs, proxy_healthz, proxy_metrics)}",
            "-v=1",
        ],
    )
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{proxy_healthz}/healthz"),
        timeout=60,
        what="kube-proxy",
        log=log,
        alive=lambda: sup.alive("kube-proxy"),
    )
    kubectl("apply", "-f", "-", stdin=json.dumps(DNS_RBAC))
    ready_port, health_port = free_port(), free_port()
    corefile = node_dir / "Corefile"
    corefile.write_text(_corefile(certs.dns_kubeconfig, ready_port, health_port))
    log = sup.start("coredns", [str(COREDNS.path("coredns")), "-conf", str(corefile)])
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{ready_port}/ready"),
        timeout=60,
        what="CoreDNS (cluster DNS)",
        log=log,
        alive=lambda: sup.alive("coredns"),
    )
    return RealNode(NODE_NAME, NODE_IP, CONTAINERD_SOCKET, {i.name: i.ref for i in images})


def _corefile(kubeconfig: Path, ready_port: int, health_port: int) -> str:
    """Cluster DNS on the node IP: Services and pods of `cluster.local` (and their reverse
    names) from the API server; every other name is NXDOMAIN — nothing is forwarded off the
    machine, so a pod that looks up an outside name learns at once that it does not exist."""
    return f"""{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:{health_port}
    ready 127.0.0.1:{ready_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} modelplane-local
        pods insecure
    }}
    cache 5
}}
.:53 {{
    bind {NODE_IP}
    errors
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""


# --- teardown ---------------------------------------------------------------------------------


def stop_node(sup: Supervisor) -> None:
    """Stop this run's node and undo its changes to the host (no-op without a claim)."""
    claim = Claim.load()
    if claim is None or Path(claim.run_dir) != sup.run_dir:
        return
    kill_containers()
    for name in ("coredns", "kube-proxy", "kubelet"):
        sup.stop(name)
    kill_containers()
    sup.stop("containerd")
    teardown(claim)


def kill_containers() -> None:
    """SIGKILL every container process and every shim of our containerd."""
    socket = str(CONTAINERD_SOCKET)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "containerd-shim-runc-v2" in cmdline and socket in cmdline:
                os.kill(int(proc.name), signal.SIGKILL)
    for cgroup in _kubepods_cgroups():
        for folder in _cgroup_tree(cgroup):
            with contextlib.suppress(OSError, ValueError):
                for pid in (folder / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)


def _kubepods_cgroups() -> list[Path]:
    root = Path("/sys/fs/cgroup")
    if not root.is_dir():
        return []
    return [p for c in root.iterdir() if c.is_dir() for p in c.glob("kubepods*") if p.is_dir()]


def _cgroup_tree(cgroup: Path) -> list[Path]:
    """`cgroup` and every cgroup below it, deepest first. Walked with os.walk, which skips a
    folder that disappears while it is read (kubelet and runc remove pod cgroups as they go;
    Path.rglob raises FileNotFoundError then, and `make down` failed on it)."""
    found = [Path(top) for top, _, _ in os.walk(cgroup)]
    return sorted(found, key=lambda d: -len(d.parts))


def _remove_cgroups() -> None:
    deadline = time.monotonic() + 10
    for cgroup in _kubepods_cgroups():
        for folder in _cgroup_tree(cgroup):
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    kill_containers()
                    time.sleep(0.1)


def node_mounts(roots: list[Path]) -> list[str]:
    """Mount points under the given folders, deepest first."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if any(point == str(r) or point.startswith(f"{r}/") for r in roots):
                found.append(point)
    return sorted(set(found), key=lambda p: -p.count("/"))


def _unmount(roots: list[Path]) -> None:
    for _ in range(5):  # bind mounts can stack; repeat until none is left
        points = node_mounts(roots)
        if not points:
            return
        for point in points:
            if _sh("umount", point, check=False).returncode != 0:
                _sh("umount", "-l", point, check=False)


def iptables_leftovers() -> list[str]:
    """Chains of the node (kube-proxy's, the kubelet's, ours) still present, `table/chain`."""
    found: list[str] = []
    for binary in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            result = _sh(binary, "-w", "-t", table, "-S", check=False)
            for line in result.stdout.splitlines():
                words = line.split()
                if words[:1] == ["-N"] and words[1].startswith(("KUBE-", "MODELPLANE-")):
                    found.append(f"{binary}/{table}/{words[1]}")
    return found


def _remove_chains() -> None:
    for binary in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            result = _sh(binary, "-w", "-t", table, "-S", check=False)
            ours = [
                w[1]
                for line in result.stdout.splitlines()
                if (w := line.split())[:1] == ["-N"] and w[1].startswith(("KUBE-", "MODELPLANE-"))
            ]
            for line in result.stdout.splitlines():
                words = shlex.split(line)  # comments are quoted and contain spaces
                if words[:1] == ["-A"] and "-j" in words:
                    target = words[words.index("-j") + 1]
                    if target in ours and words[1] not in ours:
                        _sh(binary, "-w", "-t", table, "-D", *words[1:], check=False)
            for chain in ours:
                _sh(binary, "-w", "-t", table, "-F", chain, check=False)
            for chain in ours:
                _sh(binary, "-w", "-t", table, "-X", chain, check=False)


def bridge_leftovers() -> list[str]:
    """The bridge and veths of the node still present."""
    found = [BRIDGE] if Path(f"/sys/class/net/{BRIDGE}").exists() else []
    for link in Path("/sys/class/net").glob("veth*"):
        master = link / "master"
        if master.exists() and master.resolve().name == BRIDGE:
            found.append(link.name)
    return found


def teardown(claim: Claim) -> None:
    """Undo everything the claim's node did to the host (see the module docstring)."""
    kill_containers()
    node_dir = Path(claim.node_dir) if claim.node_dir else Path(claim.run_dir) / "node"
    state = RunState.load(Path(claim.run_dir) / "state.json")
    if state is not None:
        from modelplane_cli.local.processes import kill_group

        for record in state.processes:
            if record.name in ("coredns", "kube-proxy", "kubelet", "containerd"):
                kill_group(record.pid, record.argv0, grace=3.0)
    kill_containers()
    _remove_cgroups()
    _unmount([node_dir, CLAIM_DIR, *HOST_PATHS])
    _remove_chains()
    for link in bridge_leftovers():
        _sh("ip", "link", "delete", link, check=False)
    for name, value in claim.sysctls.items():
        _write_sysctl(name, value)
    for path in claim.created_paths:
        _remove_tree(Path(path))
    results = Path("/var/lib/cni/results")
    for cached in results.glob("modelplane-*"):
        cached.unlink(missing_ok=True)
    for leftover in (CONTAINERD_SOCKET, Path(f"{CONTAINERD_SOCKET}.ttrpc")):
        leftover.unlink(missing_ok=True)
    _remove_tree(node_dir)
    CLAIM.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        CLAIM_DIR.rmdir()  # only when empty


def _remove_tree(path: Path) -> None:
    import shutil

    if node_mounts([path]):
        _unmount([path])
    shutil.rmtree(path, ignore_errors=True)


def host_leftovers() -> list[str]:
    """What of a node is still on the host (empty after a clean `down`)."""
    left = [f"link {name}" for name in bridge_leftovers()]
    left += [f"iptables {chain}" for chain in iptables_leftovers()]
    left += [f"mount {point}" for point in node_mounts([CLAIM_DIR, *HOST_PATHS])]
    left += [f"cgroup {path}" for path in _kubepods_cgroups()]
    if CLAIM.exists():
        left.append(f"claim {CLAIM}")
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                name = (proc / "comm").read_text().strip()
                if name in ("kubelet", "kube-proxy", "containerd", "containerd-shim", "coredns"):
                    left.append(f"process {name} ({proc.name})")
    return left
