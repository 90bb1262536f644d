"""The operator as a real process: liveness and metrics endpoints, graceful shutdown on SIGTERM,
and Lease-based leader election so that of two replicas only one acts."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import (
    Kubectl,
    OperatorProcess,
    free_port,
    get_json,
    install_crds,
    operator_env,
    wait_for,
)

NAMESPACE = "mp-process-tests"


def _version(s3: Any, name: str) -> str:
    model = linear_model(4)
    data, digest = model_bytes(model)
    key = f"process/{uuid.uuid4().hex}.onnx"
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "modelName": "m",
                "version": "1",
                "artifact": {"uri": f"s3://{s3.bucket}/{key}", "sha256": digest},
                "signature": signature_of(model),
            },
        }
    )


def _ok(url: str) -> str | None:
    try:
        response = httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return response.text if response.status_code == 200 else None


def test_liveness_metrics_and_graceful_shutdown(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, tmp_path: Path
) -> None:
    install_crds(kubectl)
    kubectl("create", "namespace", NAMESPACE, check=False)
    live, metrics = free_port(), free_port()
    env = operator_env(
        kubeconfig,
        s3,
        liveness_endpoint=f"http://127.0.0.1:{live}/healthz",
        metrics_port=metrics,
        log_format="json",
    )
    operator = OperatorProcess(env, tmp_path / "operator.log")
    operator.start()
    try:
        wait_for(lambda: _ok(f"http://127.0.0.1:{live}/healthz"), what="liveness endpoint")
        name = f"proc-{uuid.uuid4().hex[:6]}"
        kubectl("apply", "-f", "-", input=_version(s3, name))
        kubectl("wait", "--for=condition=Ready", "--timeout=60s", f"mv/{name}", "-n", NAMESPACE)
        text = wait_for(
            lambda: (
                (t := _ok(f"http://127.0.0.1:{metrics}/metrics")) and 'outcome="success"' in t and t
            ),
            what="metrics with a successful reconcile",
        )
        assert 'modelplane_operator_reconciles_total{kind="ModelVersion",outcome="success"}' in text
        assert "modelplane_operator_reconcile_duration_seconds_bucket" in text
        assert 'modelplane_operator_queue_depth{kind="ModelVersion"}' in text
        assert operator.stop() == 0
    finally:
        operator.kill()
    lines = (tmp_path / "operator.log").read_text().splitlines()
    structured = [json.loads(line) for line in lines if line.startswith("{")]
    assert structured, "no JSON log lines"
    assert any(rec.get("object", {}).get("name") == name for rec in structured if "object" in rec)


def _holder(kubectl: Kubectl) -> str | None:
    lease = get_json(kubectl, "lease", "modelplane-operator", "-n", "modelplane-system")
    return ((lease or {}).get("spec") or {}).get("holderIdentity")


def test_only_the_lease_holder_acts_and_a_standby_takes_over_when_it_dies(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, tmp_path: Path
) -> None:
    install_crds(kubectl)
    kubectl("create", "namespace", NAMESPACE, check=False)
    kubectl("create", "namespace", "modelplane-system", check=False)
    kubectl(
        "delete", "lease", "modelplane-operator", "-n", "modelplane-system", "--ignore-not-found"
    )
    common = {"leader_election": True, "lease_duration_s": 4}
    first = OperatorProcess(
        operator_env(kubeconfig, s3, identity="replica-a", **common), tmp_path / "a.log"
    )
    second_env = operator_env(kubeconfig, s3, identity="replica-b", **common)
    second = OperatorProcess(second_env, tmp_path / "b.log")
    first.start()
    try:
        wait_for(lambda: _holder(kubectl) == "replica-a", what="replica-a leads")
        second.start()
        standby = wait_for(
            lambda: _ok(second_env["MODELPLANE_OPERATOR_LIVENESS_ENDPOINT"]),
            what="the standby answers its liveness probe",
        )
        assert standby.strip() == "standby"
        name = f"lead-{uuid.uuid4().hex[:6]}"
        kubectl("apply", "-f", "-", input=_version(s3, name))
        kubectl("wait", "--for=condition=Ready", "--timeout=60s", f"mv/{name}", "-n", NAMESPACE)
        time.sleep(2)
        assert _holder(kubectl) == "replica-a"
        assert "reconcile_model_version" not in (tmp_path / "b.log").read_text()
        first.kill()
        wait_for(lambda: _holder(kubectl) == "replica-b", timeout=30, what="replica-b takes over")
        name = f"lead-{uuid.uuid4().hex[:6]}"
        kubectl("apply", "-f", "-", input=_version(s3, name))
        kubectl("wait", "--for=condition=Ready", "--timeout=60s", f"mv/{name}", "-n", NAMESPACE)
        assert "reconcile_model_version" in (tmp_path / "b.log").read_text()
        assert second.stop() == 0
        assert _holder(kubectl) in (None, "")
    finally:
        first.kill()
        second.kill()
