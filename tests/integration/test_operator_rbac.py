"""The operator's RBAC (manifests/base/operator) is enough: the operator runs under its
ServiceAccount's own token, not as admin, and does its whole job — Organization children and
deletion, ModelVersion verification, Events, usedBy — without a single Forbidden."""

from __future__ import annotations

import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import (
    OPERATOR_DIR,
    REPO_ROOT,
    Kubectl,
    condition,
    get_json,
    install_crds,
    operator_env,
    run_operator,
    service_account_kubeconfig,
    wait_for,
)

FORBIDDEN = re.compile(r"(?<![\w'\"-])403(?![\w'\"-])|[Ff]orbidden")
"""A 403 status or a Forbidden reason; not the digits 403 inside an Audit-Id or other UUID, nor
a quoted value such as `'resourceVersion': '403'` in a logged object."""


class Collector(logging.Handler):
    """Every log record of the in-process operator, whatever pytest's logging plugin does."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_operator_does_its_job_under_its_service_account(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, tmp_path: Path
) -> None:
    install_crds(kubectl)
    kubectl("apply", "-k", str(REPO_ROOT / "manifests" / "base" / "rbac"))
    kubectl(
        "apply", "-f", str(OPERATOR_DIR / "namespace.yaml"), "-f", str(OPERATOR_DIR / "rbac.yaml")
    )
    sa_config = service_account_kubeconfig(kubeconfig, tmp_path / "sa.kubeconfig")
    whoami = kubectl("auth", "whoami", "-o", "json", "--kubeconfig", str(sa_config))
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == (
        "system:serviceaccount:modelplane-system:modelplane-operator"
    )
    slug = f"sa-{uuid.uuid4().hex[:6]}"
    namespace = f"mp-{slug}"
    model = linear_model(4)
    data, digest = model_bytes(model)
    key = f"rbac/{uuid.uuid4().hex}.onnx"
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)
    records = Collector()
    logging.getLogger().addHandler(records)
    with run_operator(kubectl, operator_env(sa_config, s3), extra_args=("--verbose",)):
        kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "modelplane.io/v1alpha1",
                    "kind": "Organization",
                    "metadata": {"name": slug},
                    "spec": {
                        "displayName": slug,
                        "slug": slug,
                        "memberGroups": {"admin": ["a"], "developer": ["d"], "viewer": ["v"]},
                        "quota": {"cpu": "2"},
                    },
                }
            ),
        )
        wait_for(
            lambda: (
                (condition(get_json(kubectl, "org", slug), "Ready") or {}).get("status") == "True"
            ),
            what="org Ready under the ServiceAccount",
        )
        kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "modelplane.io/v1alpha1",
                    "kind": "ModelVersion",
                    "metadata": {"name": "m-v1", "namespace": namespace},
                    "spec": {
                        "modelName": "m",
                        "version": "1",
                        "artifact": {"uri": f"s3://{s3.bucket}/{key}", "sha256": digest},
                        "signature": signature_of(model),
                    },
                }
            ),
        )
        kubectl("wait", "--for=condition=Ready", "--timeout=60s", "mv/m-v1", "-n", namespace)
        kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "modelplane.io/v1alpha1",
                    "kind": "ModelDeployment",
                    "metadata": {"name": "m", "namespace": namespace},
                    "spec": {"stable": {"modelVersionRef": {"name": "m-v1"}}},
                }
            ),
        )
        wait_for(
            lambda: (
                (get_json(kubectl, "mv", "m-v1", "-n", namespace)["status"].get("usedBy")) == ["m"]
            ),
            what="usedBy under the ServiceAccount",
        )
        events = get_json(kubectl, "events", "-n", namespace)["items"]
        assert any(e["reason"] == "Verified" for e in events)
        kubectl("delete", "org", slug, "--wait=false")
        wait_for(lambda: get_json(kubectl, "org", slug) is None, what="org finalized")
        ns = get_json(kubectl, "namespace", namespace)
        assert ns is None or ns["metadata"].get("deletionTimestamp")
    logging.getLogger().removeHandler(records)
    assert records.messages, "no operator log records were collected"
    forbidden = [m for m in records.messages if FORBIDDEN.search(m)]
    assert forbidden == []
