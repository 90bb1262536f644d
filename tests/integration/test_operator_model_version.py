"""ModelVersion verification on the real control plane with real objects in MinIO: Ready with the
verified digest (from S3 and from MLflow's Model Registry), each permanent failure Stalled with
its reason and an Event, a transient S3 outage recovering by itself, `usedBy`, and no second
download of a verified artifact."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from modelplane_cli.local.services import MLflow
from tests.mlflow_registry import register_onnx
from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import (
    Kubectl,
    TcpForwarder,
    condition,
    get_json,
    install_crds,
    operator_env,
    run_operator,
    wait_for,
)

NAMESPACE = "mp-mv-tests"
RESTART_NAMESPACE = "mp-mv-restart"
OUTAGE_NAMESPACE = "mp-mv-outage"


@pytest.fixture(scope="module")
def cluster(kubectl: Kubectl) -> Kubectl:
    install_crds(kubectl)
    for namespace in (NAMESPACE, RESTART_NAMESPACE, OUTAGE_NAMESPACE):
        kubectl("create", "namespace", namespace, check=False)
    return kubectl


@pytest.fixture(scope="module")
def operator(
    cluster: Kubectl, kubeconfig: Path, s3: Any, mlflow_server: MLflow
) -> Iterator[Kubectl]:
    env = operator_env(
        kubeconfig, s3, mlflow_tracking_uri=mlflow_server.url, mlflow_token=mlflow_server.token
    )
    with run_operator(cluster, env, namespace=NAMESPACE) as runner:
        yield cluster
    assert "Traceback" not in runner.output, runner.output[-3000:]


def model_version(
    name: str,
    uri: str,
    sha256: str,
    signature: dict[str, Any],
    namespace: str = NAMESPACE,
    max_size_bytes: int | None = None,
) -> str:
    artifact: dict[str, Any] = {"uri": uri, "sha256": sha256}
    if max_size_bytes is not None:
        artifact["maxSizeBytes"] = max_size_bytes
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "modelName": "fraud",
                "version": name.rsplit("-", 1)[-1],
                "artifact": artifact,
                "signature": signature,
            },
        }
    )


def upload(s3: Any, data: bytes) -> str:
    key = f"models/{uuid.uuid4().hex}/model.onnx"
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)
    return f"s3://{s3.bucket}/{key}"


def name() -> str:
    return f"mv-{uuid.uuid4().hex[:8]}"


def settled(kubectl: Kubectl, mv: str, namespace: str = NAMESPACE) -> dict[str, Any] | None:
    obj = get_json(kubectl, "modelversion", mv, "-n", namespace)
    ready = condition(obj, "Ready")
    if ready and (ready["status"] == "True" or condition(obj, "Stalled")):
        return dict(obj)
    return None


def events(kubectl: Kubectl, mv: str, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    found = get_json(
        kubectl, "events", "-n", namespace, "--field-selector", f"involvedObject.name={mv}"
    )
    return list(found["items"])


def test_real_onnx_object_becomes_ready_with_the_verified_digest(
    operator: Kubectl, s3: Any
) -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    mv = name()
    operator(
        "apply", "-f", "-", input=model_version(mv, upload(s3, data), digest, signature_of(model))
    )
    operator(
        "wait", "--for=condition=Ready", "--timeout=60s", f"modelversion/{mv}", "-n", NAMESPACE
    )
    obj = get_json(operator, "modelversion", mv, "-n", NAMESPACE)
    assert obj["status"]["verifiedSha256"] == digest
    assert obj["status"]["sizeBytes"] == len(data)
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    assert condition(obj, "ArtifactVerified")["status"] == "True"
    assert condition(obj, "SignatureValid")["status"] == "True"
    assert condition(obj, "Stalled") is None
    assert condition(obj, "Reconciling") is None
    assert "Verified" in {e["reason"] for e in events(operator, mv)}
    # kopf's bookkeeping lives in modelplane.io annotations, not in status.
    assert "kopf" not in obj["status"]
    assert any(k.startswith("modelplane.io/") for k in obj["metadata"]["annotations"])


def test_mlflow_registry_version_becomes_ready(operator: Kubectl, mlflow_server: MLflow) -> None:
    model = linear_model(3, seed=5)
    data, digest = model_bytes(model)
    registered, version = register_onnx(mlflow_server, data)
    mv = name()
    uri = f"models:/{registered}/{version}"
    operator("apply", "-f", "-", input=model_version(mv, uri, digest, signature_of(model)))
    operator(
        "wait", "--for=condition=Ready", "--timeout=60s", f"modelversion/{mv}", "-n", NAMESPACE
    )
    obj = get_json(operator, "modelversion", mv, "-n", NAMESPACE)
    assert obj["status"]["verifiedSha256"] == digest
    assert obj["status"]["sizeBytes"] == len(data)


def _bad_cases(s3: Any) -> dict[str, tuple[str, str, dict[str, Any], int | None]]:
    model = linear_model(4)
    data, digest = model_bytes(model)
    junk = b"this is a pickle, honestly\n" * 10
    import hashlib

    junk_digest = hashlib.sha256(junk).hexdigest()
    wrong_signature = signature_of(model)
    wrong_signature["inputs"][0]["shape"] = [-1, 5]
    missing = f"s3://{s3.bucket}/models/{uuid.uuid4().hex}/absent.onnx"
    return {
        "DigestMismatch": (upload(s3, data), "0" * 64, signature_of(model), None),
        "ArtifactUnreachable": (missing, digest, signature_of(model), None),
        "NotOnnx": (upload(s3, junk), junk_digest, signature_of(model), None),
        "SignatureMismatch": (upload(s3, data), digest, wrong_signature, None),
        "ArtifactTooLarge": (upload(s3, data), digest, signature_of(model), len(data) - 1),
    }


@pytest.mark.parametrize(
    "reason",
    ["DigestMismatch", "ArtifactUnreachable", "NotOnnx", "SignatureMismatch", "ArtifactTooLarge"],
)
def test_bad_artifact_ends_stalled_with_its_reason_and_an_event(
    operator: Kubectl, s3: Any, reason: str
) -> None:
    uri, digest, signature, max_size_bytes = _bad_cases(s3)[reason]
    mv = name()
    operator(
        "apply",
        "-f",
        "-",
        input=model_version(mv, uri, digest, signature, max_size_bytes=max_size_bytes),
    )
    obj = wait_for(lambda: settled(operator, mv), what=f"{mv} settled")
    stalled = condition(obj, "Stalled")
    assert stalled is not None
    assert stalled["status"] == "True"
    assert stalled["reason"] == reason
    assert condition(obj, "Ready")["status"] == "False"
    assert condition(obj, "Ready")["reason"] == reason
    assert condition(obj, "Reconciling") is None
    assert "verifiedSha256" not in obj["status"]
    warnings = wait_for(
        lambda: [
            e for e in events(operator, mv) if e["type"] == "Warning" and e["reason"] == reason
        ],
        what="a Warning event",
    )
    assert warnings[0]["involvedObject"]["kind"] == "ModelVersion"


def test_used_by_follows_the_model_deployments_that_reference_the_version(
    operator: Kubectl, s3: Any
) -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    mv = name()
    operator(
        "apply", "-f", "-", input=model_version(mv, upload(s3, data), digest, signature_of(model))
    )
    operator(
        "wait", "--for=condition=Ready", "--timeout=60s", f"modelversion/{mv}", "-n", NAMESPACE
    )
    deployment = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": f"dep-{mv}", "namespace": NAMESPACE},
        "spec": {"stable": {"modelVersionRef": {"name": mv}}},
    }
    operator("apply", "-f", "-", input=json.dumps(deployment))

    def used_by() -> list[str]:
        obj = get_json(operator, "modelversion", mv, "-n", NAMESPACE)
        return list(obj["status"].get("usedBy") or [])

    wait_for(lambda: used_by() == [f"dep-{mv}"], what="usedBy set")
    operator("delete", "modeldeployment", f"dep-{mv}", "-n", NAMESPACE)
    wait_for(lambda: used_by() == [], what="usedBy cleared")


def test_verified_artifact_is_not_downloaded_again_on_restart_or_update(
    cluster: Kubectl, kubeconfig: Path, s3: Any
) -> None:
    model = linear_model(4, seed=3)
    data, digest = model_bytes(model)
    uri = upload(s3, data)
    mv = name()
    env = operator_env(kubeconfig, s3)
    with run_operator(cluster, env, namespace=RESTART_NAMESPACE):
        cluster(
            "apply",
            "-f",
            "-",
            input=model_version(mv, uri, digest, signature_of(model), RESTART_NAMESPACE),
        )
        cluster(
            "wait",
            "--for=condition=Ready",
            "--timeout=60s",
            f"modelversion/{mv}",
            "-n",
            RESTART_NAMESPACE,
        )
    # Handlers run at least once (kopf may see a fresh object twice); count from here.
    verified_before = [
        e for e in events(cluster, mv, RESTART_NAMESPACE) if e["reason"] == "Verified"
    ]
    assert verified_before
    parsed = urlparse(uri)
    s3.client().delete_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))
    with run_operator(cluster, env, namespace=RESTART_NAMESPACE):
        cluster("label", "modelversion", mv, "-n", RESTART_NAMESPACE, "touched=yes")

        def update_handled() -> bool:
            obj = get_json(cluster, "modelversion", mv, "-n", RESTART_NAMESPACE)
            handled = obj["metadata"]["annotations"].get("modelplane.io/last-handled-configuration")
            return bool(handled and "touched" in handled)

        wait_for(update_handled, what="the label change handled after the restart")
    verified_after = [
        e for e in events(cluster, mv, RESTART_NAMESPACE) if e["reason"] == "Verified"
    ]
    assert len(verified_after) == len(verified_before)
    obj = get_json(cluster, "modelversion", mv, "-n", RESTART_NAMESPACE)
    assert condition(obj, "Ready")["status"] == "True"
    assert obj["status"]["verifiedSha256"] == digest


def test_transient_s3_outage_recovers_by_itself(
    cluster: Kubectl, kubeconfig: Path, s3: Any
) -> None:
    model = linear_model(4, seed=5)
    data, digest = model_bytes(model)
    uri = upload(s3, data)
    target = urlparse(s3.endpoint_url)
    outage = TcpForwarder(target.hostname or "127.0.0.1", target.port or 80)
    env = operator_env(
        kubeconfig, s3, s3_endpoint_url=f"http://127.0.0.1:{outage.port}", retry_delay_s=1
    )
    mv = name()
    try:
        with run_operator(cluster, env, namespace=OUTAGE_NAMESPACE):
            cluster(
                "apply",
                "-f",
                "-",
                input=model_version(mv, uri, digest, signature_of(model), OUTAGE_NAMESPACE),
            )

            def retrying() -> bool:
                obj = get_json(cluster, "modelversion", mv, "-n", OUTAGE_NAMESPACE)
                found = condition(obj, "Reconciling")
                ready = condition(obj, "Ready")
                return bool(
                    found
                    and found["status"] == "True"
                    and ready
                    and ready["reason"] == "ArtifactUnreachable"
                )

            wait_for(retrying, what="Reconciling while S3 is down")
            assert (
                condition(get_json(cluster, "modelversion", mv, "-n", OUTAGE_NAMESPACE), "Stalled")
                is None
            )
            outage.start()
            cluster(
                "wait",
                "--for=condition=Ready",
                "--timeout=60s",
                f"modelversion/{mv}",
                "-n",
                OUTAGE_NAMESPACE,
            )
    finally:
        outage.stop()
    obj = get_json(cluster, "modelversion", mv, "-n", OUTAGE_NAMESPACE)
    assert obj["status"]["verifiedSha256"] == digest
    assert condition(obj, "Reconciling") is None
