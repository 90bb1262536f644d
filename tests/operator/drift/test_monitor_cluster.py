"""`--monitor ns/name` against a real API server: the job reads the three resources it needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from modelplane_crds.kinds import KINDS
from modelplane_operator.drift.resolve import arguments_from_monitor
from tests.operator.support import wait_established

Kubectl = Callable[..., CompletedProcess[str]]
ROOT = Path(__file__).resolve().parents[3]
NAMESPACE = "mp-drift-tests"

VERSION = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "ModelVersion",
    "metadata": {"name": "scorer-v1", "namespace": NAMESPACE},
    "spec": {
        "modelName": "scorer",
        "version": "1",
        "artifact": {"uri": "s3://models/scorer/1/model.onnx", "sha256": "a" * 64},
        "signature": {
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2]}],
            "outputs": [{"name": "probability", "datatype": "FP32", "shape": [-1, 1]}],
        },
        "features": [
            {"name": "amount", "type": "numerical", "input": "x", "index": 0},
            {"name": "country", "type": "categorical", "input": "x", "index": 1},
        ],
        "referenceDataset": {"uri": "s3://models/scorer/1/reference.parquet", "sha256": "b" * 64},
    },
}
DEPLOYMENT = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "scorer", "namespace": NAMESPACE},
    "spec": {
        "stable": {"modelVersionRef": {"name": "scorer-v1"}},
        "payloadLogging": {"uri": "s3://payload-logs"},
    },
}
MONITOR = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "DriftMonitor",
    "metadata": {"name": "scorer-inputs", "namespace": NAMESPACE},
    "spec": {
        "deploymentRef": {"name": "scorer"},
        "window": {"size": "2h"},
        "minSamples": 300,
        "features": {"overrides": [{"name": "country", "test": "jsd", "threshold": 0.2}]},
        "correction": "bonferroni",
    },
}


def test_the_job_derives_its_arguments_from_the_monitor_deployment_and_stable_version(
    kubectl: Kubectl, kubeconfig: Path
) -> None:
    kubectl("apply", "-k", str(ROOT / "manifests/base/crds"))
    wait_established(kubectl, *(kind.crd_name for kind in KINDS))
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    kubectl("apply", "-f", "-", input=json.dumps(namespace))
    for manifest in (VERSION, DEPLOYMENT, MONITOR):
        kubectl("apply", "-f", "-", input=json.dumps(manifest))

    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    arguments = arguments_from_monitor(f"{NAMESPACE}/scorer-inputs", str(kubeconfig), now=now)

    assert arguments["window"] == f"s3://payload-logs/{NAMESPACE}/scorer/scorer-v1"
    assert arguments["reference"] == "s3://models/scorer/1/reference.parquet"
    assert arguments["reference_digest"] == "sha256:" + "b" * 64
    assert arguments["start"] == "2026-11-20T10:00:00+00:00"
    assert json.loads(arguments["features"]) == [
        {"name": "amount", "kind": "numerical"},
        {"name": "country", "kind": "categorical", "test": "jsd", "threshold": 0.2},
    ]
    assert json.loads(arguments["config"])["correction"] == "bonferroni"
    with pytest.raises(ValueError, match=f"driftmonitors {NAMESPACE}/missing not found"):
        arguments_from_monitor(f"{NAMESPACE}/missing", str(kubeconfig), now=now)
