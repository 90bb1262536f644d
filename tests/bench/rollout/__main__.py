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
3. the steady state afterwards: CPU per minute with all deployments settled;
4. the floor, first and in the same run: `BENCH_MANY` plain apps/v1 Deployments with the pod
   template and replicas the operator creates (copied from the Deployment of one ModelDeployment
   applied and removed beforehand, its name replaced) applied the same way in a namespace of
   their own, timed until every one has its replica available; that namespace is then deleted
   so the ModelDeployments start on the same, emptied control plane. The ratio ModelDeployments
   / plain Deployments and the machine's load average on both sides are printed.

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
from collections.abc import Callable
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
PLAIN_NAMESPACE = "bench-plain"
TEMPLATE = "d-template"
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


def available_count(kubectl: Kubectl) -> int:
    """Plain Deployments whose replicas are all available."""
    items = json.loads(kubectl("get", "deploy", "-n", PLAIN_NAMESPACE, "-o", "json"))["items"]
    return sum(
        1
        for item in items
        if (item.get("status") or {}).get("availableReplicas", 0) >= item["spec"]["replicas"]
    )


def component_cpu(extra: dict[str, int] | None = None) -> dict[str, float]:
    """CPU seconds so far of each control-plane process of the bench's platform (and `extra`)."""
    state = json.loads((RUN_DIR / "state.json").read_text())
    pids = {p["name"]: p["pid"] for p in state["processes"] if p["name"] != "minio"}
    found = {}
    for name, pid in {**pids, **(extra or {})}.items():
        try:
            found[name] = cpu_s(pid)
        except OSError:
            continue
    return found


def cpu_since(before: dict[str, float], extra: dict[str, int] | None = None) -> dict[str, float]:
    """CPU seconds of each process since `before`."""
    now = component_cpu(extra)
    return {name: now[name] - before.get(name, 0.0) for name in now}


REQUEST = re.compile(
    r"^apiserver_request_(total|duration_seconds_sum)\{([^}]*)\} (\S+)$", re.MULTILINE
)


def api_requests(kubectl: Kubectl) -> dict[tuple[str, str, str], float]:
    """The API server's request counters so far: (measure, verb, resource) → count or summed
    seconds; watches are left out (they last as long as the connection)."""
    found: dict[tuple[str, str, str], float] = {}
    for measure, labels, value in REQUEST.findall(kubectl("get", "--raw", "/metrics")):
        fields = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if fields.get("verb") in ("WATCH", "CONNECT"):
            continue
        key = (measure, fields.get("verb", ""), fields.get("resource", ""))
        found[key] = found.get(key, 0.0) + float(value)
    return found


def requests_line(
    before: dict[tuple[str, str, str], float], after: dict[tuple[str, str, str], float]
) -> str:
    """Requests by verb since `before`: count and the seconds the API server spent answering."""
    by_verb: dict[str, list[float]] = {}
    for (measure, verb, resource), value in after.items():
        delta = value - before.get((measure, verb, resource), 0.0)
        slot = by_verb.setdefault(verb, [0.0, 0.0])
        slot[0 if measure == "total" else 1] += delta
    ordered = sorted(by_verb.items(), key=lambda item: -item[1][1])
    return ", ".join(
        f"{verb} {count:,.0f} ({seconds:.1f} s)" for verb, (count, seconds) in ordered if count
    )


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def operator_deployment(kubectl: Kubectl) -> dict[str, Any]:
    """The apps/v1 Deployment the operator creates for one ModelDeployment (`TEMPLATE`, Ready
    first, then deleted with its children)."""
    kubectl("apply", "-f", "-", input=json.dumps(deployment(TEMPLATE)))
    kubectl("wait", "--for=condition=Ready", "--timeout=300s", f"mdep/{TEMPLATE}", "-n", NAMESPACE)
    items = json.loads(kubectl("get", "deploy", "-n", NAMESPACE, "-o", "json"))["items"]
    (found,) = [item for item in items if TEMPLATE in item["metadata"]["name"]]
    kubectl("delete", "mdep", TEMPLATE, "-n", NAMESPACE, "--wait=true", "--timeout=120s")
    kubectl(
        "wait",
        "--for=delete",
        "--timeout=120s",
        f"deploy/{found['metadata']['name']}",
        "-n",
        NAMESPACE,
        check=False,
    )
    return found  # type: ignore[no-any-return]


def plain_copy(template: dict[str, Any], name: str) -> dict[str, Any]:
    """The operator's Deployment for `name`: the template's name replaced wherever it occurs
    (names, labels, selector, environment), without owner, status or server fields."""
    spec = json.loads(json.dumps(template["spec"]).replace(TEMPLATE, name))
    labels = json.loads(json.dumps(template["metadata"].get("labels", {})).replace(TEMPLATE, name))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": template["metadata"]["name"].replace(TEMPLATE, name),
            "namespace": PLAIN_NAMESPACE,
            "labels": labels,
        },
        "spec": spec,
    }


def measure_plain(kubectl: Kubectl, template: dict[str, Any]) -> dict[str, Any]:
    """The floor: `MANY` plain Deployments applied at once → all available; then their
    namespace is deleted (timed) so the ModelDeployments start on an emptied control plane."""
    kubectl("create", "namespace", PLAIN_NAMESPACE)
    account = template["spec"]["template"]["spec"].get("serviceAccountName")
    if account and account != "default":
        kubectl("create", "serviceaccount", account, "-n", PLAIN_NAMESPACE)
    timed = apply_and_wait(
        kubectl,
        [plain_copy(template, f"d-{i}") for i in range(MANY)],
        available_count,
        "plain Deployments available",
    )
    print(f"{MANY} plain Deployments available in {timed['total']:.1f}s", flush=True)
    t1 = time.perf_counter()
    kubectl("delete", "namespace", PLAIN_NAMESPACE, "--wait=true", "--timeout=900s")
    deleted = time.perf_counter() - t1
    print(f"their namespace deleted in {deleted:.1f}s", flush=True)
    return {**timed, "deleted": deleted}


def apply_and_wait(
    kubectl: Kubectl,
    items: list[dict[str, Any]],
    done: Callable[[Kubectl], int],
    what: str,
    extra: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Apply `items` in one `kubectl apply` of a List; poll `done` every 2 s until all are
    done. The seconds from the start to the end of the apply, to half and to all done, the
    progress seen, the load average before and after, the CPU seconds each control-plane
    process (and each of `extra`) spent meanwhile and the API server's requests by verb."""
    load_before = load_average()
    requests_before = api_requests(kubectl)
    cpu_before = component_cpu(extra)
    t0 = time.perf_counter()
    kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    )
    applied = time.perf_counter() - t0
    progress: list[tuple[float, int]] = []
    while (count := done(kubectl)) < len(items):
        progress.append((time.perf_counter() - t0, count))
        time.sleep(2)
        if time.perf_counter() - t0 > 3600:
            raise RuntimeError(f"only {count}/{len(items)} {what} after 60 min")
    total = time.perf_counter() - t0
    return {
        "applied": applied,
        "total": total,
        "half": next((t for t, n in progress if n >= len(items) // 2), total),
        "progress": progress,
        "load_before": load_before,
        "load_after": load_average(),
        "cpu": cpu_since(cpu_before, extra),
        "requests": requests_line(requests_before, api_requests(kubectl)),
    }


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
    plain = measure_plain(kubectl, operator_deployment(kubectl))
    time.sleep(3)
    idle_kib = proc_kib(pid, "VmRSS")
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    before = counters(metrics_url)
    cpu0 = cpu_s(pid)

    timed = apply_and_wait(
        kubectl,
        [deployment(f"d-{i}") for i in range(MANY)],
        ready_count,
        "Ready",
        {"operator": pid},
    )
    total = timed["total"]
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
        applied=timed["applied"],
        total=total,
        busy_cpu=busy_cpu,
        idle_kib=idle_kib,
        peak_kib=peak_kib,
        passes=passes,
        calls=calls,
        idle_cpu_per_min=idle_cpu_per_min,
        settled_passes=settled_passes,
        progress=timed["progress"],
        plain=plain,
        loads=(timed["load_before"], timed["load_after"]),
        cpu=timed["cpu"],
        requests=timed["requests"],
    )
    return 0


def cpu_line(cpu: dict[str, float]) -> str:
    """CPU seconds per process, largest first."""
    ordered = sorted(cpu.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in ordered) + (
        f" (total {sum(cpu.values()):.1f})"
    )


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
    plain: dict[str, Any],
    loads: tuple[str, str],
    cpu: dict[str, float],
    requests: str,
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
        f"The floor, in the same run just before: {MANY} plain apps/v1 Deployments with the "
        "operator's own pod template and replicas (copied from the Deployment it created for "
        "one ModelDeployment), applied the same way in their own namespace, timed until all are "
        "available; their namespace is deleted before the ModelDeployments are applied. "
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average (1 / 5 / 15 min) "
        f"{plain['load_before']} before the plain Deployments, {loads[1]} at the end.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| plain Deployments applied at once | {MANY} (one `kubectl apply` of a List, "
        f"{plain['applied']:.1f} s) |",
        f"| plain: time until half / all are available | {plain['half']:.1f} s / "
        f"{plain['total']:.1f} s (load {plain['load_before']} → {plain['load_after']}) |",
        f"| plain: their namespace deleted (not part of either time) | {plain['deleted']:.1f} s |",
        f"| ModelDeployments applied at once | {MANY} (one `kubectl apply` of a List, "
        f"{applied:.1f} s) |",
        f"| time until half are Ready | {half:.1f} s |",
        f"| time until all are Ready | {total:.1f} s (load {loads[0]} → {loads[1]}) |",
        f"| **ratio ModelDeployments / plain Deployments** (all Ready / all available) | "
        f"**{total / plain['total']:.2f}×** (half: {half / plain['half']:.2f}×) |",
        f"| CPU s while the plain Deployments went available | {cpu_line(plain['cpu'])} |",
        f"| CPU s while the ModelDeployments went Ready | {cpu_line(cpu)} |",
        f"| API server requests while the plain Deployments went available (by verb: count, "
        f"seconds answering) | {plain['requests']} |",
        f"| API server requests while the ModelDeployments went Ready | {requests} |",
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
        "what changed, and settled deployments skip the pass until their resync. The CPU rows "
        "are the seconds each process of the platform (and the operator) spent while that side "
        "was timed; where the ModelDeployments' extra time goes is in the next section.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    write_section(DOC, SECTION, text)


if __name__ == "__main__":
    raise SystemExit(main())
