"""Helpers of the rollout integration tests: the operator (its `kopf run` entry file),
ModelVersions backed by real objects in the S3 server, and waiting on status."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import kopf
import onnx
from kopf.testing import KopfRunner

import modelplane_operator
from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import (
    REPO_ROOT,
    Kubectl,
    delete_webhook_configurations,
    get_json,
    operator_env,
    wait_for,
)

ENTRY = Path(modelplane_operator.__file__).parent / "kopf_entry.py"


def rollout_env(kubeconfig: Path, s3: Any) -> dict[str, str]:
    """Operator variables: fast ticks, no webhooks, S3 for ModelVersion verification."""
    return operator_env(
        kubeconfig,
        s3,
        rollout_interval_s=1,
        resync_interval_s=3,
        worker_limit=10,
    )


@contextlib.contextmanager
def run_rollout_operator(
    kubectl: Kubectl, env: Mapping[str, str], namespace: str
) -> Iterator[KopfRunner]:
    """The operator (core + ModelDeployment handler) in a thread, limited to `namespace`."""
    args = ["run", "--standalone", "-n", namespace, str(ENTRY)]
    runner = KopfRunner(args, registry=kopf.OperatorRegistry(), env=dict(env), timeout=60)
    try:
        with runner:
            yield runner
    finally:
        delete_webhook_configurations(kubectl)


def wait_versions_ready(kubectl: Kubectl, namespace: str, versions: Sequence[str]) -> None:
    """Until the core handler has verified each ModelVersion."""
    for name in versions:
        wait_for(
            partial(version_ready, kubectl, name, namespace), timeout=120, what=f"{name} Ready"
        )


@contextlib.contextmanager
def serving_operator(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, namespace: str, versions: Sequence[str]
) -> Iterator[Kubectl]:
    """The rollout operator on `namespace`, once `versions` are verified; at the end its
    ModelDeployments are deleted and its output is checked for tracebacks."""
    with run_rollout_operator(kubectl, rollout_env(kubeconfig, s3), namespace) as runner:
        wait_versions_ready(kubectl, namespace, versions)
        yield kubectl
        kubectl(
            "delete",
            "modeldeployments",
            "--all",
            "-n",
            namespace,
            "--wait=true",
            "--timeout=60s",
            check=False,
        )
    assert "Traceback" not in runner.output, runner.output[-3000:]


class RolloutOperatorProcess:
    """The same operator as a child process (its own process group), to be SIGKILLed."""

    def __init__(self, env: Mapping[str, str], namespace: str, log: Path) -> None:
        self.env = {**os.environ, **env}
        self.namespace = namespace
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again)."""
        with self.log.open("ab") as handle:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kopf",
                    "run",
                    "--standalone",
                    "-n",
                    self.namespace,
                    str(ENTRY),
                ],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole group, as when the operator's node dies."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 30 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def upload_model(
    s3: Any, seed: int, model: onnx.ModelProto | None = None
) -> tuple[str, str, dict[str, Any]]:
    """A tiny model (or `model`) in the S3 server: (uri, sha256, signature)."""
    model = model if model is not None else linear_model(4, seed=seed)
    data, digest = model_bytes(model)
    key = f"models/{uuid.uuid4().hex}/model.onnx"
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)
    return f"s3://{s3.bucket}/{key}", digest, signature_of(model)


def model_version(
    name: str, namespace: str, s3: Any, seed: int = 0, model: onnx.ModelProto | None = None
) -> str:
    """A ModelVersion manifest for a freshly uploaded model."""
    uri, digest, signature = upload_model(s3, seed, model)
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "modelName": "fraud",
                "version": name.rsplit("-", 1)[-1],
                "artifact": {"uri": uri, "sha256": digest},
                "signature": signature,
            },
        }
    )


def model_deployment(name: str, namespace: str, spec: Mapping[str, Any]) -> str:
    """A ModelDeployment manifest."""
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": dict(spec),
        }
    )


def status_of(kubectl: Kubectl, name: str, namespace: str) -> dict[str, Any]:
    """The ModelDeployment's status (empty when absent)."""
    obj = get_json(kubectl, "modeldeployment", name, "-n", namespace)
    return dict((obj or {}).get("status") or {})


def annotations_of(kubectl: Kubectl, kind: str, name: str, namespace: str) -> dict[str, str]:
    """The object's annotations (empty when absent)."""
    obj = get_json(kubectl, kind, name, "-n", namespace) or {}
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def version_ready(kubectl: Kubectl, name: str, namespace: str) -> bool:
    """Whether the core handler verified the ModelVersion."""
    obj = get_json(kubectl, "modelversion", name, "-n", namespace) or {}
    return ready(obj.get("status") or {})


def ready(status: Mapping[str, Any]) -> bool:
    """Whether Ready=True is in the status."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def children(kubectl: Kubectl, name: str, namespace: str) -> list[str]:
    """`kind/name` of every object labelled as a child of the deployment."""
    found = kubectl(
        "get",
        "deployments,services,poddisruptionbudgets,horizontalpodautoscalers,replicasets,pods",
        "-n",
        namespace,
        "-l",
        f"modelplane.io/deployment={name}",
        "-o",
        "name",
    )
    return sorted(found.stdout.split())
