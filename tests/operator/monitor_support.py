"""Helpers of the DriftMonitor tests on the real control plane: Parquet into the real S3 server,
the files the kubelet would mount from an alert Secret, and the drift job run in this process."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from modelplane_operator.drift import main
from tests.operator.support import Kubectl

SIGNING_SECRET = "k" * 40


def put_parquet(s3: Any, key: str, table: pa.Table) -> bytes:
    """`table` as a Parquet object at `key` in the test bucket; its bytes."""
    sink = io.BytesIO()
    pq.write_table(table, sink)
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=sink.getvalue())
    return sink.getvalue()


WEBHOOK_SINK = {
    "webhook": {
        "urlSecretRef": {"name": "drift-hooks", "key": "url"},
        "signingSecretRef": {"name": "drift-hooks", "key": "signing"},
    }
}
"""The webhook sink of `hook_secret`'s Secret."""


def monitor_resources(
    namespace: str, s3: Any, reference_sha: str, **monitor_spec: Any
) -> tuple[dict[str, Any], ...]:
    """ModelVersion fraud-1 (one feature, `amount`, and its reference in S3), ModelDeployment
    fraud logging every payload, and DriftMonitor fraud-inputs on it whose CronJob never fires
    during a test (the tests run the job themselves), with `monitor_spec` added."""
    version = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": "fraud-1", "namespace": namespace},
        "spec": {
            "modelName": "fraud",
            "version": "1",
            "artifact": {"uri": f"s3://{s3.bucket}/absent/model.onnx", "sha256": "a" * 64},
            "signature": {
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 1]}],
                "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
            },
            "features": [{"name": "amount", "type": "numerical", "input": "x", "index": 0}],
            "referenceDataset": {
                "uri": f"s3://{s3.bucket}/{namespace}/reference.parquet",
                "sha256": reference_sha,
            },
        },
    }
    deployment = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": namespace},
        "spec": {
            "stable": {"modelVersionRef": {"name": "fraud-1"}},
            "payloadLogging": {"sampleRate": 1.0},
        },
    }
    monitor = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "DriftMonitor",
        "metadata": {"name": "fraud-inputs", "namespace": namespace},
        "spec": {
            "deploymentRef": {"name": "fraud"},
            "schedule": "0 0 1 1 *",
            "minSamples": 200,
            **monitor_spec,
        },
    }
    return version, deployment, monitor


def hook_secret(kubectl: Kubectl, namespace: str, url: str, mounted: Path) -> str:
    """The webhook's Secret in the cluster, and the files the kubelet would mount from it."""
    signing = SIGNING_SECRET
    kubectl(
        "create",
        "secret",
        "generic",
        "drift-hooks",
        "-n",
        namespace,
        f"--from-literal=url={url}",
        f"--from-literal=signing={signing}",
    )
    (mounted / "drift-hooks").mkdir(parents=True)
    (mounted / "drift-hooks" / "url").write_text(url)
    (mounted / "drift-hooks" / "signing").write_text(signing)
    return str(mounted)


def run_job(args: list[str]) -> tuple[int, str]:
    """The job's entry point in this process: its exit status and what it said on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()
