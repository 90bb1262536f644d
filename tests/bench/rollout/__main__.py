"""ModelDeployment benchmark: `python -m tests.bench.rollout`.

On the real local platform (control plane with kwok nodes, MinIO), with the operator as a real
process (`kopf run` of the core handlers plus the ModelDeployment timer, webhooks off):

1. `BENCH_MANY` (default 1,000) ModelDeployments of one verified ModelVersion applied at once
   (one `kubectl apply` of a List, one serving pod each): time until every one is `Ready`
   (its pod scheduled on a kwok node and Ready, status written), with the operator's CPU time
   and peak resident memory (VmHWM) against its idle footprint;
2. the operator's own counters: reconcile passes that did work and Kubernetes API calls made by
   them (`modelplane_rollout_passes`, `modelplane_rollout_api_calls`), hence API calls per pass;
   kopf's status patch (one per pass that changed status) comes on top;
3. the steady state afterwards: CPU per minute with all deployments settled.

Extra kwok nodes are added so that every pod fits (250 pods per node). Results are printed and
written to the "ModelDeployments (rollouts)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from modelplane_cli.local.binaries import KUBE
from modelplane_cli.local.controlplane import node_manifest
from modelplane_cli.local.platform import LocalPlatform
from tests.bench import write_section
from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.rollout.cluster_support import RolloutOperatorProcess
from tests.operator.support import CRD_DIR, free_port, operator_env

REPO = Path(__file__).resolve().parents[3]
RUN_DIR = REPO / ".run" / "bench-rollout"
DOC = REPO / "docs" / "benchmarks.md"
MANY = int(os.environ.get("BENCH_MANY", "1000"))
INTERVAL_S = float(os.environ.get("BENCH_ROLLOUT_INTERVAL_S", "10"))
NAMESPACE = "bench-rollout"
SECTION = "## ModelDeployments (rollouts)"


class Kubectl:
    """kubectl against the bench's control plane."""

    def __init__(self, kubeconfig: Path) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}

    def __call__(self, *args: str, input: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [str(KUBE.path("kubectl")), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=900,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr}")
        return result.stdout


def proc_kib(pid: int, field: str) -> int:
    """A memory field of /proc/<pid>/status in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ready_count(kubectl: Kubectl) -> int:
    """ModelDeployments with Ready=True."""
    items = json.loads(kubectl("get", "mdep", "-n", NAMESPACE, "-o", "json"))["items"]
    return sum(
        1
        for item in items
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (item.get("status") or {}).get("conditions") or []
        )
    )


def counters(metrics_url: str) -> dict[str, float]:
    """The operator's rollout counters."""
    text = httpx.get(metrics_url, timeout=10).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(
            r"^(modelplane_rollout_(?:passes|api_calls)_total)(\{[^}]*\})? (\S+)$", line
        )
        if match:
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


def deployment(name: str) -> dict[str, Any]:
    """One ModelDeployment of the bench's ModelVersion, one pod."""
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"stable": {"modelVersionRef": {"name": "bench-1"}}, "scaling": {"replicas": 1}},
    }


def main() -> int:
    """Run the benchmark on a fresh local platform."""
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    platform = LocalPlatform(RUN_DIR, owner_pid=os.getpid())
    platform.sweep_stale()
    try:
        return run(platform)
    finally:
        platform.stop()


def run(platform: LocalPlatform) -> int:
    """The measurements."""
    started = time.monotonic()
    kubeconfig = platform.ensure_control_plane()
    s3 = platform.ensure_s3().with_bucket("bench-rollout")
    kubectl = Kubectl(kubeconfig)
    kubectl("apply", "-k", str(CRD_DIR))
    kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/modeldeployments.modelplane.io"
    )
    extra = max(0, (MANY + 249) // 250 + 1 - 3)
    for i in range(extra):
        kubectl("apply", "-f", "-", input=json.dumps(node_manifest(f"kwok-bench-{i + 3}")))
    kubectl("create", "namespace", NAMESPACE)
    print(f"platform up in {time.monotonic() - started:.1f}s (+{extra} kwok nodes)", flush=True)

    model = linear_model(16)
    data, digest = model_bytes(model)
    s3.client().put_object(Bucket=s3.bucket, Key="bench/model.onnx", Body=data)
    version = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": "bench-1", "namespace": NAMESPACE},
        "spec": {
            "modelName": "bench",
            "version": "1",
            "artifact": {"uri": f"s3://{s3.bucket}/bench/model.onnx", "sha256": digest},
            "signature": signature_of(model),
        },
    }
    metrics_port = free_port()
    env = operator_env(
        kubeconfig,
        s3,
        metrics_port=metrics_port,
        log_format="json",
        rollout_interval_s=INTERVAL_S,
        resync_interval_s=300,
    )
    operator = RolloutOperatorProcess(env, NAMESPACE, RUN_DIR / "operator.log")
    operator.start()
    assert operator.proc is not None
    pid = operator.proc.pid
    kubectl("apply", "-f", "-", input=json.dumps(version))
    kubectl("wait", "--for=condition=Ready", "--timeout=120s", "mv/bench-1", "-n", NAMESPACE)
    time.sleep(3)
    idle_kib = proc_kib(pid, "VmRSS")
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    before = counters(metrics_url)
    cpu0 = cpu_s(pid)

    items = [deployment(f"d-{i}") for i in range(MANY)]
    t0 = time.perf_counter()
    kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    applied = time.perf_counter() - t0
    progress: list[tuple[float, int]] = []
    while (count := ready_count(kubectl)) < MANY:
        progress.append((time.perf_counter() - t0, count))
        time.sleep(2)
        if time.perf_counter() - t0 > 3600:
            raise RuntimeError(f"only {count}/{MANY} Ready after 60 min")
    total = time.perf_counter() - t0
    busy_cpu = cpu_s(pid) - cpu0
    peak_kib = proc_kib(pid, "VmHWM")
    after = counters(metrics_url)
    print(
        f"{MANY} Ready in {total:.1f}s, CPU {busy_cpu:.1f}s, peak {peak_kib / 1024:.0f} MiB",
        flush=True,
    )

    cpu1 = cpu_s(pid)
    time.sleep(60)
    idle_cpu_per_min = cpu_s(pid) - cpu1
    settled = counters(metrics_url)
    operator.stop()

    passes = after.get("modelplane_rollout_passes_total", 0) - before.get(
        "modelplane_rollout_passes_total", 0
    )
    calls = {
        key.split('"')[1]: after[key] - before.get(key, 0)
        for key in after
        if key.startswith("modelplane_rollout_api_calls_total")
    }
    settled_passes = settled.get("modelplane_rollout_passes_total", 0) - after.get(
        "modelplane_rollout_passes_total", 0
    )
    write_results(
        applied=applied,
        total=total,
        busy_cpu=busy_cpu,
        idle_kib=idle_kib,
        peak_kib=peak_kib,
        passes=passes,
        calls=calls,
        idle_cpu_per_min=idle_cpu_per_min,
        settled_passes=settled_passes,
        progress=progress,
    )
    return 0


def write_results(
    *,
    applied: float,
    total: float,
    busy_cpu: float,
    idle_kib: int,
    peak_kib: int,
    passes: float,
    calls: dict[str, float],
    idle_cpu_per_min: float,
    settled_passes: float,
    progress: list[tuple[float, int]],
) -> None:
    """Print the results and replace this section of docs/benchmarks.md."""
    all_calls = sum(calls.values())
    per_pass = all_calls / passes if passes else 0.0
    half = next((t for t, n in progress if n >= MANY // 2), total)
    breakdown = ", ".join(f"{k} {v / max(passes, 1):.1f}" for k, v in sorted(calls.items()))
    lines = [
        SECTION,
        "",
        "Command: `make bench-operator` (second part, `python -m tests.bench.rollout`; "
        "`BENCH_MANY="
        f"{MANY}`, rollout timer every {INTERVAL_S:g} s). Real local control plane with kwok "
        "nodes; the operator is a separate process (core handlers + ModelDeployment timer, "
        "webhooks off); one verified ModelVersion; each ModelDeployment has one pod. "
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, 1-minute load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| ModelDeployments applied at once | {MANY} (one `kubectl apply` of a List, "
        f"{applied:.1f} s) |",
        f"| time until half are Ready | {half:.1f} s |",
        f"| time until all are Ready | {total:.1f} s |",
        f"| operator CPU during that time | {busy_cpu:.1f} s ({busy_cpu / max(MANY, 1) * 1000:.1f}"
        " ms per ModelDeployment) |",
        f"| operator memory: idle → peak (VmRSS → VmHWM) | {idle_kib / 1024:.0f} MiB → "
        f"{peak_kib / 1024:.0f} MiB ({(peak_kib - idle_kib) / max(MANY, 1):.0f} KiB per "
        "ModelDeployment) |",
        f"| reconcile passes that did work | {passes:.0f} ({passes / max(MANY, 1):.1f} per "
        "ModelDeployment until Ready) |",
        f"| API calls per pass (gateway) | {per_pass:.1f} ({breakdown}); plus kopf's one "
        "status patch when status changed |",
        f"| settled: passes / CPU in the next minute | {settled_passes:.0f} passes, "
        f"{idle_cpu_per_min:.1f} s CPU |",
        "",
        "Reading: a pass reads the ModelVersion and lists the child kinds (Deployments, "
        "Services, PDBs, HPAs; HTTPRoutes too where the Gateway API is installed), applies only "
        "what changed, and settled deployments skip the pass entirely until their resync. Time "
        "to Ready is dominated by the control plane (Deployment → ReplicaSet → Pod → kwok "
        "Ready) and by the timer interval (a deployment is looked at again one interval after "
        "its pods were created).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    write_section(DOC, SECTION, text)


if __name__ == "__main__":
    raise SystemExit(main())
