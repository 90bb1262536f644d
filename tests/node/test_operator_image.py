"""The operator image on the platform's real node: the image a DriftMonitor's CronJob runs.

One pod, locked down like the serving pods (non-root, read-only root filesystem, no
capabilities, RuntimeDefault seccomp) but without a `runAsUser`, so the uid comes from the image
itself. Its init containers run the image's entry point (`--help`), then write a tiny reference
and one hour of payload logs (one feature shifted) into an emptyDir in the runtime's layout; its
container runs the drift job on them, and its report decides the test.
"""

from __future__ import annotations

import json
from typing import Any

from modelplane_cli.local.node import REAL_NODE_LABEL
from modelplane_cli.local.platform import RealNode
from modelplane_crds.drift_results import DriftEvaluation
from tests.operator.support import Kubectl, get_json, wait_for

NAMESPACE = "mp-node-image"
UID = 65532
DAY, HOUR = "2026-11-20", "10"

# Runs in the image as its own user: reports the uid and whether the root filesystem takes a
# write, then writes a reference and one hour of payload logs (`amount` shifted by 1.5 sd).
WRITE_DATA = """
import os, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq

day, hour = sys.argv[1:]
try:
    open("/opt/venv/probe", "w")
except OSError:
    root = "read-only"
else:
    root = "writable"
print(f"uid={os.getuid()} root={root}")


def table(seed, n, loc):
    rng = np.random.default_rng(seed)
    start = np.datetime64(f"{day}T{hour}:00:00", "us").astype(np.int64)
    return pa.table({
        "request_id": [f"req-{i}" for i in range(n)],
        "ts": pa.array(start + np.linspace(0, 3599e6, n).astype(np.int64),
                       pa.timestamp("us", tz="UTC")),
        "model_name": ["fraud"] * n,
        "model_version": ["1"] * n,
        "variant": ["stable"] * n,
        "feature.amount": rng.normal(loc, 1.0, n),
        "feature.country": rng.choice(np.array(["de", "fr", "us"]), n),
    })


pq.write_table(table(0, 4000, 0.0), "/data/reference.parquet")
partition = f"/data/logs/date={day}/hour={hour}"
os.makedirs(partition)
for part in range(2):
    stamp = day.replace("-", "") + f"T{hour}0000Z"
    pq.write_table(table(10 + part, 400, 1.5), f"{partition}/{stamp}-part{part}.parquet")
"""


def _container(name: str, **fields: Any) -> dict[str, Any]:
    """A container of the operator image with the serving pods' container lock-down."""
    return {
        "name": name,
        "imagePullPolicy": "Never",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "tmp", "mountPath": "/tmp"},  # an emptyDir, not the host's
        ],
        **fields,
    }


def _drift_pod(image: str) -> dict[str, Any]:
    drift = [
        "python", "-m", "modelplane_operator.drift",
        "--reference", "/data/reference.parquet", "--window", "/data/logs",
        "--start", f"{DAY}T{HOUR}:00:00Z", "--end", f"{DAY}T{int(HOUR) + 1:02d}:00:00Z",
    ]  # fmt: skip
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "drift", "namespace": NAMESPACE},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "nodeSelector": {REAL_NODE_LABEL: "real"},
            "securityContext": {
                "runAsNonRoot": True,  # no runAsUser: the kubelet checks the image's own USER
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "initContainers": [
                _container("entrypoint", image=image, args=["--help"]),
                _container(
                    "data", image=image, command=["python", "-c", WRITE_DATA], args=[DAY, HOUR]
                ),
            ],
            "containers": [_container("drift", image=image, command=drift)],
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
        },
    }


def test_the_operator_image_runs_the_drift_job_on_the_real_node_as_its_non_root_user(
    kubectl: Kubectl, real_node: RealNode
) -> None:
    image = real_node.images["operator"]
    kubectl("create", "namespace", NAMESPACE, check=False)
    wait_for(
        lambda: get_json(kubectl, "serviceaccount", "default", "-n", NAMESPACE),
        what="the namespace's default ServiceAccount",
    )
    kubectl("delete", "pod", "drift", "-n", NAMESPACE, "--ignore-not-found", "--wait=true")
    kubectl("apply", "-f", "-", input=json.dumps(_drift_pod(image)))

    def finished() -> str | None:
        phase = (get_json(kubectl, "pod", "drift", "-n", NAMESPACE) or {}).get("status", {})
        return phase.get("phase") if phase.get("phase") in ("Succeeded", "Failed") else None

    try:
        phase = wait_for(finished, timeout=180, interval=1, what="the drift pod to finish")
        pod = get_json(kubectl, "pod", "drift", "-n", NAMESPACE)
        logs = {
            c: kubectl("logs", "drift", "-n", NAMESPACE, "-c", c, check=False).stdout
            for c in ("entrypoint", "data", "drift")
        }
        described = kubectl("describe", "pod", "drift", "-n", NAMESPACE, check=False).stdout
    finally:
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)

    assert phase == "Succeeded", (described, logs)
    assert pod["spec"]["nodeName"] == real_node.name
    assert "modelplane-operator" in logs["entrypoint"]  # the image's entry point is the operator
    assert logs["data"].strip() == f"uid={UID} root=read-only"
    report = DriftEvaluation.model_validate_json(logs["drift"])
    assert report.samples == 800
    assert {r.feature: r.drifted for r in report.features} == {"amount": True, "country": False}
    assert report.dataset is not None
