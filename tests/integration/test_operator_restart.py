"""Restart safety: SIGKILL the operator at random points while 50 ModelVersions and 5
Organizations reconcile, restart it each time, and check that everything converges with no
duplicate and no orphaned object. A longer kill loop runs in `python -m tests.bench.operator`."""

from __future__ import annotations

import json
import random
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import (
    Kubectl,
    OperatorProcess,
    condition,
    get_json,
    install_crds,
    operator_env,
    wait_for,
)

KILLS = 10
VERSIONS = 50
ORGS = 5


def _documents(run: str, namespace: str, s3: Any) -> tuple[list[dict[str, Any]], dict[str, str]]:
    client = s3.client()
    artifacts = []
    for seed in range(5):
        model = linear_model(64, seed=seed)
        data, digest = model_bytes(model)
        key = f"restart/{run}/{seed}.onnx"
        client.put_object(Bucket=s3.bucket, Key=key, Body=data)
        artifacts.append((f"s3://{s3.bucket}/{key}", digest, signature_of(model)))
    docs: list[dict[str, Any]] = []
    digests: dict[str, str] = {}
    for i in range(VERSIONS):
        uri, digest, signature = artifacts[i % len(artifacts)]
        name = f"m-{i}"
        digests[name] = digest
        docs.append(
            {
                "apiVersion": "modelplane.io/v1alpha1",
                "kind": "ModelVersion",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "modelName": "m",
                    "version": str(i),
                    "artifact": {"uri": uri, "sha256": digest},
                    "signature": signature,
                },
            }
        )
    for i in range(ORGS):
        slug = f"{run}-{i}"
        docs.append(
            {
                "apiVersion": "modelplane.io/v1alpha1",
                "kind": "Organization",
                "metadata": {"name": slug},
                "spec": {
                    "displayName": slug,
                    "slug": slug,
                    "memberGroups": {"admin": [f"{slug}-a"], "viewer": [f"{slug}-v"]},
                    "quota": {"pods": 10},
                },
            }
        )
    return docs, digests


def _all_ready(kubectl: Kubectl, namespace: str, run: str) -> bool:
    versions = get_json(kubectl, "mv", "-n", namespace)["items"]
    orgs = [
        o
        for o in get_json(kubectl, "organizations")["items"]
        if o["metadata"]["name"].startswith(run)
    ]
    objects = versions + orgs
    return (
        len(versions) == VERSIONS
        and len(orgs) == ORGS
        and all((condition(o, "Ready") or {}).get("status") == "True" for o in objects)
    )


def _managed(kubectl: Kubectl, kind: str, namespace: str) -> list[str]:
    found = get_json(
        kubectl, kind, "-n", namespace, "-l", "app.kubernetes.io/managed-by=modelplane-operator"
    )
    return sorted(o["metadata"]["name"] for o in found["items"])


def _handled(log: Path) -> int:
    return log.read_text().count("Handler '") if log.exists() else 0


def _more_handled(log: Path, seen: int) -> bool:
    return _handled(log) > seen


@pytest.mark.slow
def test_random_kills_while_reconciling_converge_without_duplicates_or_orphans(
    kubectl: Kubectl, kubeconfig: Path, s3: Any, tmp_path: Path
) -> None:
    install_crds(kubectl)
    run = f"rs{uuid.uuid4().hex[:5]}"
    namespace = f"mp-{run}-versions"
    kubectl("create", "namespace", namespace)
    docs, digests = _documents(run, namespace, s3)
    env = operator_env(kubeconfig, s3, worker_limit=4)
    operator = OperatorProcess(env, tmp_path / "operator.log")
    rng = random.Random(5)
    operator.start()
    kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    )
    kills = 0
    try:
        log = tmp_path / "operator.log"
        for _ in range(KILLS):
            # Kill only once this incarnation is working, at a random moment into its work.
            seen = _handled(log)
            wait_for(
                partial(_more_handled, log, seen),
                timeout=30,
                interval=0.1,
                what="the restarted operator handling objects",
            )
            time.sleep(rng.uniform(0.0, 1.5))
            operator.kill()
            kills += 1
            operator.start()
        wait_for(
            lambda: _all_ready(kubectl, namespace, run),
            timeout=180,
            interval=2,
            what="everything Ready after the kills",
        )
        assert kills == KILLS
        for version in get_json(kubectl, "mv", "-n", namespace)["items"]:
            name = version["metadata"]["name"]
            assert version["status"]["verifiedSha256"] == digests[name]
            assert version["status"]["observedGeneration"] == version["metadata"]["generation"]
            types = [c["type"] for c in version["status"]["conditions"]]
            assert sorted(types) == ["ArtifactVerified", "Ready", "SignatureValid"]
        labelled = get_json(kubectl, "namespaces", "-l", "modelplane.io/organization")["items"]
        ours = sorted(
            n["metadata"]["name"]
            for n in labelled
            if n["metadata"]["name"].startswith(f"mp-{run}-")
        )
        assert ours == [f"mp-{run}-{i}" for i in range(ORGS)]
        for i in range(ORGS):
            org_ns = f"mp-{run}-{i}"
            assert _managed(kubectl, "resourcequota", org_ns) == ["modelplane-quota"]
            assert _managed(kubectl, "limitrange", org_ns) == ["modelplane-defaults"]
            assert _managed(kubectl, "networkpolicy", org_ns) == [
                "modelplane-allow-platform",
                "modelplane-default-deny",
            ]
            assert _managed(kubectl, "rolebinding", org_ns) == [
                "modelplane-admin",
                "modelplane-viewer",
            ]
            org = get_json(kubectl, "organization", f"{run}-{i}")
            assert org["status"]["namespace"] == org_ns
            assert "modelplane.io/finalizer" in org["metadata"]["finalizers"]
        # Clean up through the operator (it owns the finalizers), then stop it gracefully.
        kubectl("delete", "organizations", *[f"{run}-{i}" for i in range(ORGS)], "--wait=false")
        wait_for(
            lambda: (
                not [
                    o
                    for o in get_json(kubectl, "organizations")["items"]
                    if o["metadata"]["name"].startswith(run)
                ]
            ),
            timeout=120,
            what="organizations finalized",
        )
        assert operator.stop() == 0
    finally:
        operator.kill()
        kubectl("delete", "namespace", namespace, "--wait=false", check=False)
