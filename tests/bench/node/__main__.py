"""Real-node benchmark: `python -m tests.bench.node` (`make bench-node`).

On the local platform with its real node (kubelet, kube-proxy, containerd; images built here):

1. start of the node (images imported into containerd, kubelet registered and Ready);
2. `kubectl apply` of a one-replica ModelDeployment → first prediction through its ClusterIP, and
   the pod's own start (created → Ready);
3. memory of kubelet, containerd, kube-proxy and a pod's shim and runtime;
4. requests per second of the serving runtime in a pod (at its pod IP and through the ClusterIP)
   side by side with the same runtime as a bare process on this host, same model, same load
   generator, same run — the ratio is what the container and kube-proxy cost.

Results are printed and written to the "Real node" section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from modelplane_cli.local.binaries import KUBE
from modelplane_cli.local.platform import LocalPlatform
from modelplane_cli.local.processes import group_rss_mib
from tests.bench import write_section
from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import CRD_DIR

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "benchmarks.md"
SECTION = "## Real node"
NAMESPACE = "mp-bench-node"  # the namespace of the Organization `bench-node`
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
FEATURES = 20


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(KUBE.path("kubectl")), "--kubeconfig", str(kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise subprocess.CalledProcessError(
            result.returncode, ["kubectl", *args], result.stdout, result.stderr
        )
    return result.stdout


def _organization(kubeconfig: Path) -> None:
    """The bench's tenant: the webhooks admit Modelplane objects only in an org namespace."""
    org = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": "bench-node"},
        "spec": {"displayName": "Node bench", "slug": "bench-node"},
    }
    _kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(org))
    _kubectl(
        kubeconfig, "wait", "--for=condition=Ready", "organization/bench-node", "--timeout=120s"
    )


def _wait(check: Any, timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll until `check()` is truthy; the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if check():
                return time.monotonic() - began
        except (httpx.HTTPError, subprocess.CalledProcessError, KeyError, IndexError):
            pass
        time.sleep(interval)
    raise RuntimeError(f"{what}: not after {timeout:.0f} s")


def _rss_by_name(names: tuple[str, ...]) -> dict[str, float]:
    """Resident memory (MiB) of processes by command name, summed."""
    found: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            comm = (proc / "comm").read_text().strip()
            status = (proc / "status").read_text()
        except OSError:
            continue
        if comm in names:
            kib = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")), 0)
            found[comm] = found.get(comm, 0.0) + kib / 1024
    return found


def _load(url: str, body: Path) -> dict[str, float]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.loadgen",
            url,
            f"--body-file={body}",
            f"--concurrency={CONCURRENCY}",
            f"--seconds={SECONDS}",
            "--warmup=2",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> int:
    run_dir = REPO / ".run" / f"bench-node-{os.getpid()}"
    messages: list[str] = []

    def progress(message: str) -> None:
        messages.append(message)
        print(f"[platform] {message}", flush=True)

    platform = LocalPlatform(run_dir, owner_pid=os.getpid(), progress=progress)
    platform.sweep_stale()
    results: dict[str, Any] = {"date": datetime.now().strftime("%Y-%m-%d")}
    try:
        kubeconfig = platform.ensure_control_plane()
        s3 = platform.ensure_s3().with_bucket("bench-node")
        began = time.monotonic()
        node = platform.ensure_real_node()
        results["node_start_s"] = time.monotonic() - began
        results["imports"] = [m.strip() for m in messages if "loaded into containerd" in m]
        operator = platform.ensure_operator()
        del operator
        _kubectl(kubeconfig, "apply", "-k", str(CRD_DIR))
        _organization(kubeconfig)
        _kubectl(
            kubeconfig, "create", "secret", "generic", "modelplane-s3", "-n", NAMESPACE,
            f"--from-literal=MODELPLANE_RUNTIME_S3_ACCESS_KEY_ID={s3.access_key}",
            f"--from-literal=MODELPLANE_RUNTIME_S3_SECRET_ACCESS_KEY={s3.secret_key}",
        )  # fmt: skip
        model = linear_model(FEATURES, seed=1)
        data, digest = model_bytes(model)
        key = f"models/{uuid.uuid4().hex}/model.onnx"
        s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)
        mv = {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {"name": "bench-1", "namespace": NAMESPACE},
            "spec": {
                "modelName": "bench",
                "version": "1",
                "artifact": {"uri": f"s3://{s3.bucket}/{key}", "sha256": digest},
                "signature": signature_of(model),
            },
        }
        _kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(mv))
        _kubectl(
            kubeconfig, "wait", "--for=condition=Ready", "mv/bench-1", "-n", NAMESPACE,
            "--timeout=120s",
        )  # fmt: skip

        rows = np.random.default_rng(0).normal(size=(1, FEATURES)).round(4).tolist()
        body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, FEATURES],
                            "data": rows[0]}]}  # fmt: skip
        body_file = run_dir / "body.json"
        body_file.write_text(json.dumps(body))
        md = {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {"name": "bench", "namespace": NAMESPACE},
            "spec": {
                "stable": {"modelVersionRef": {"name": "bench-1"}},
                "scaling": {"replicas": 1},
            },
        }
        applied = time.monotonic()
        _kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(md))

        def cluster_ip() -> str:
            service = json.loads(
                _kubectl(kubeconfig, "get", "svc", "bench", "-n", NAMESPACE, "-o", "json")
            )
            return str(service["spec"]["clusterIP"])

        _wait(cluster_ip, 60, "Service")
        service_url = f"http://{cluster_ip()}/v2/models/bench/infer"
        _wait(
            lambda: httpx.post(service_url, json=body, timeout=2).status_code == 200,
            180,
            "first prediction",
        )
        results["apply_to_prediction_s"] = time.monotonic() - applied
        pod = json.loads(
            _kubectl(
                kubeconfig,
                "get",
                "pods",
                "-n",
                NAMESPACE,
                "-l",
                "modelplane.io/deployment=bench",
                "-o",
                "json",
            )
        )["items"][0]
        conditions = {c["type"]: c["lastTransitionTime"] for c in pod["status"]["conditions"]}
        created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"])
        results["pod_created_to_ready_s"] = (
            datetime.fromisoformat(conditions["Ready"]) - created
        ).total_seconds()
        pod_url = f"http://{pod['status']['podIP']}:8080/v2/models/bench/infer"

        state = platform.supervisor.state
        results["rss_mib"] = {
            p.name: group_rss_mib(p.pid)
            for p in state.processes
            if p.name in ("kubelet", "containerd", "kube-proxy")
        }
        results["rss_mib"].update(_rss_by_name(("containerd-shim",)))
        results["rss_mib"]["the pod's runtime"] = _pod_rss()

        print("load: pod IP, ClusterIP, bare process …", flush=True)
        results["pod"] = _load(pod_url, body_file)
        results["service"] = _load(service_url, body_file)
        results["bare"] = _bare(model, digest, body_file, run_dir)
    except subprocess.CalledProcessError as exc:
        print(f"{exc.cmd}: {exc.stderr}", file=sys.stderr)
        raise
    finally:
        platform.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    del node
    report(results)
    return 0


def _pod_rss() -> float:
    """Resident memory (MiB) of the processes in pods' cgroups (the runtime and pause)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cgroup = (proc / "cgroup").read_text()
            status = (proc / "status").read_text()
        except OSError:
            continue
        if "kubepods" in cgroup and "containerd-shim" not in status.splitlines()[0]:
            kib = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")), 0)
            total += kib / 1024
    return total


def _bare(model: Any, digest: str, body_file: Path, run_dir: Path) -> dict[str, float]:
    """The same runtime as a plain process on loopback, same model from a file."""
    path = run_dir / "bare.onnx"
    path.write_bytes(model_bytes(model)[0])
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "MODELPLANE_RUNTIME_MODEL_NAME": "bench",
        "MODELPLANE_RUNTIME_MODEL_VERSION": "1",
        "MODELPLANE_RUNTIME_MODEL_URI": path.as_uri(),
        "MODELPLANE_RUNTIME_MODEL_SHA256": digest,
        "MODELPLANE_RUNTIME_SIGNATURE": json.dumps(signature_of(model)),
        "MODELPLANE_RUNTIME_CACHE_DIR": str(run_dir / "bare-cache"),
        "MODELPLANE_RUNTIME_HOST": "127.0.0.1",
        "MODELPLANE_RUNTIME_PORT": str(port),
    }
    log = (run_dir / "bare.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelplane_runtime"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{base}/v2/health/ready").status_code == 200, 60, "bare runtime")
        return _load(f"{base}/v2/models/bench/infer", body_file)
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def report(r: dict[str, Any]) -> None:
    """Print the results and replace this section of docs/benchmarks.md."""

    def row(name: str, x: dict[str, float]) -> str:
        return (
            f"| {name} | {x['rps']:.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
            f"{x['rps'] / r['bare']['rps']:.2f}× |"
        )

    rss = r["rss_mib"]
    lines = [
        SECTION,
        "",
        f"`make bench-node`, {r['date']}, on the project's 2-core machine; everything in one run "
        "(`tests/bench/node/`). The serving runtime image is built from "
        "`serving-runtime/Dockerfile` on the local Debian base.",
        "",
        "| what | measured |",
        "|---|---|",
        f"| node start (images imported, kubelet registered and Ready, kube-proxy healthy) | "
        f"{r['node_start_s']:.1f} s ({'; '.join(r['imports'])}) |",
        f"| `kubectl apply` of a one-replica ModelDeployment → first prediction through its "
        f"ClusterIP | {r['apply_to_prediction_s']:.1f} s |",
        f"| its pod: created → Ready (artifact downloaded from S3 and verified, model loaded; "
        f"1 s resolution) | {r['pod_created_to_ready_s']:.0f} s |",
        "| memory (RSS) | "
        + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in rss.items())
        + " |",
        "",
        f"Serving one 20-feature row per request, closed loop, {CONCURRENCY} keep-alive "
        f"connections for {SECONDS} s after 2 s of warm-up (`tests/bench/loadgen.py` in its own "
        "process), the same runtime and model each time; the ratio is to the bare process:",
        "",
        "| runtime | req/s | p50 ms | p99 ms | vs bare |",
        "|---|---|---|---|---|",
        row("bare process on the host (loopback)", r["bare"]),
        row("in a pod, at its pod IP (bridge, container)", r["pod"]),
        row("in a pod, through the Service's ClusterIP (kube-proxy iptables)", r["service"]),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    write_section(DOC, SECTION, text)


if __name__ == "__main__":
    raise SystemExit(main())
