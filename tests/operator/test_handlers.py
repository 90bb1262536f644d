"""Reconcile handlers called directly, with kopf's Body/Patch and a gateway fake that fails on
any call the test did not allow."""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import kopf
import pytest
from pydantic import SecretStr

from modelplane_crds.model_version import ModelVersionSpec
from modelplane_crds.serving import ServingLimits
from modelplane_operator.artifacts import (
    ArtifactFetcher,
    ArtifactProblem,
    S3Config,
    VerifiedArtifact,
)
from modelplane_operator.cluster import ClusterError
from modelplane_operator.context import OperatorContext
from modelplane_operator.handlers import admission, organization
from modelplane_operator.handlers import model_version as mv_handler
from modelplane_operator.metrics import Metrics
from modelplane_operator.settings import Settings
from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.fakes import FakeCluster

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
SETTINGS = Settings(retry_delay_s=2, retry_max_delay_s=60, kubeconfig=None)


def make_context(cluster: FakeCluster, tmp_path: Path) -> OperatorContext:
    memo = OperatorContext()
    memo.settings = SETTINGS
    memo.cluster = cluster
    memo.fetcher = ArtifactFetcher(S3Config(), file_root=tmp_path)
    memo.limits = ServingLimits()
    memo.metrics = Metrics()
    memo.deployment_refs = {}
    memo.used_by_syncs = {}
    return memo


def make_version(
    uri: str, sha256: str, signature: dict[str, Any], status: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": "fraud-v1", "namespace": "mp-acme", "uid": "u1", "generation": 1},
        "spec": {
            "modelName": "fraud",
            "version": "1",
            "artifact": {"uri": uri, "sha256": sha256},
            "signature": signature,
        },
        "status": status or {},
    }


def good_artifact(tmp_path: Path) -> tuple[str, str, dict[str, Any]]:
    model = linear_model(4)
    data, digest = model_bytes(model)
    (tmp_path / "m.onnx").write_bytes(data)
    return f"file://{tmp_path}/m.onnx", digest, signature_of(model)


def body_of(raw: dict[str, Any]) -> kopf.Body:
    return kopf.Body(cast(Any, raw))


def conditions(patch: kopf.Patch) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in patch["status"]["conditions"]}


async def test_good_artifact_marks_ready_with_digest_and_a_normal_event(tmp_path: Path) -> None:
    uri, digest, signature = good_artifact(tmp_path)
    cluster = FakeCluster("list", "event")
    patch = kopf.Patch()
    body = body_of(make_version(uri, digest, signature))
    await mv_handler.reconcile_model_version(
        body=body, patch=patch, memo=make_context(cluster, tmp_path), retry=0
    )
    assert patch["status"]["verifiedSha256"] == digest
    found = conditions(patch)
    assert found["Ready"]["status"] == "True"
    assert found["ArtifactVerified"]["status"] == "True"
    assert found["SignatureValid"]["status"] == "True"
    assert "Stalled" not in found
    assert "Reconciling" not in found
    assert cluster.events == [("Normal", "Verified", f"artifact verified, sha256 {digest}")]


async def test_wrong_digest_stalls_with_a_permanent_error_and_a_warning(tmp_path: Path) -> None:
    uri, _, signature = good_artifact(tmp_path)
    cluster = FakeCluster("list", "event")
    patch = kopf.Patch()
    body = body_of(make_version(uri, "b" * 64, signature))
    with pytest.raises(kopf.PermanentError, match="DigestMismatch"):
        await mv_handler.reconcile_model_version(
            body=body, patch=patch, memo=make_context(cluster, tmp_path), retry=0
        )
    found = conditions(patch)
    assert found["Stalled"]["reason"] == "DigestMismatch"
    assert found["Ready"]["status"] == "False"
    assert found["ArtifactVerified"]["status"] == "False"
    assert found["SignatureValid"]["status"] == "Unknown"
    assert cluster.events[0][:2] == ("Warning", "DigestMismatch")


def test_transient_failure_sets_reconciling_and_retries_with_backoff() -> None:
    def down(spec: ModelVersionSpec) -> VerifiedArtifact:
        raise ArtifactProblem("ArtifactUnreachable", "connection refused", transient=True)

    cluster = FakeCluster("list", "event")
    body = make_version("s3://b/k", "a" * 64, signature_of(linear_model(4)))
    converged = mv_handler.converge_model_version(cluster, down, body, SETTINGS, retry=3, now=NOW)
    assert isinstance(converged.error, kopf.TemporaryError)
    assert converged.error.delay == 16
    found = {c["type"]: c for c in converged.status["conditions"]}
    assert found["Reconciling"]["status"] == "True"
    assert found["Ready"]["reason"] == "ArtifactUnreachable"
    assert "Stalled" not in found
    assert cluster.events == []  # retry 3: no event on every attempt


def test_verified_generation_is_not_fetched_again_only_used_by_refreshed() -> None:
    def must_not_fetch(spec: ModelVersionSpec) -> VerifiedArtifact:
        raise AssertionError("downloaded a verified artifact again")

    status = {
        "verifiedSha256": "a" * 64,
        "usedBy": [],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Verified",
                "observedGeneration": 1,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            },
        ],
    }
    deployment = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": "mp-acme"},
        "spec": {"stable": {"modelVersionRef": {"name": "fraud-v1"}}},
    }
    cluster = FakeCluster("list", objects=[deployment])
    body = make_version("s3://b/k", "a" * 64, signature_of(linear_model(4)), status)
    result = mv_handler.converge_model_version(cluster, must_not_fetch, body, SETTINGS, 0, NOW)
    assert result.status == {"usedBy": ["fraud"], "usedByCount": 1}


@pytest.mark.parametrize(("reason", "refetch"), [("NotOnnx", False), ("ArtifactUnreachable", True)])
def test_stalled_generation_is_refetched_only_when_the_source_was_unreachable(
    reason: str, refetch: bool
) -> None:
    fetched: list[str] = []

    def verify(spec: ModelVersionSpec) -> VerifiedArtifact:
        fetched.append(spec.artifact.uri)
        return VerifiedArtifact("a" * 64, 10)

    stamp = "2026-01-01T00:00:00Z"
    status = {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": reason,
                "observedGeneration": 1,
                "lastTransitionTime": stamp,
            },
            {
                "type": "Stalled",
                "status": "True",
                "reason": reason,
                "observedGeneration": 1,
                "lastTransitionTime": stamp,
            },
        ]
    }
    cluster = FakeCluster("list", "event")
    body = make_version("s3://b/k", "a" * 64, signature_of(linear_model(4)), status)
    mv_handler.converge_model_version(cluster, verify, body, SETTINGS, 0, NOW)
    assert bool(fetched) is refetch


def test_api_trouble_while_listing_deployments_is_a_temporary_error() -> None:
    cluster = FakeCluster("list")
    cluster.fail_with = ClusterError("503", status=503, transient=True)
    body = make_version("s3://b/k", "a" * 64, signature_of(linear_model(4)))
    converged = mv_handler.converge_model_version(cluster, lambda s: None, body, SETTINGS, 0, NOW)  # type: ignore[arg-type,return-value]
    assert isinstance(converged.error, kopf.TemporaryError)


def test_sync_used_by_patches_only_versions_whose_users_changed() -> None:
    def version(name: str, used_by: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {"name": name, "namespace": "ns"},
            "status": {"usedBy": used_by},
        }

    deployment = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "d", "namespace": "ns"},
        "spec": {"stable": {"modelVersionRef": {"name": "v2"}}},
    }
    cluster = FakeCluster(
        "list",
        "patch_status",
        objects=[version("v1", ["d"]), version("v2", []), version("v3", []), deployment],
    )
    assert mv_handler.sync_used_by(cluster, "ns") == 2
    patched = sorted(d[2] for op, d in cluster.calls if op == "patch_status")
    assert patched == ["v1", "v2"]


def _deployment(name: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
        "spec": {"stable": {"modelVersionRef": {"name": version}}},
    }


def _bare_version(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": name, "namespace": "ns"},
        "status": {},
    }


def test_used_by_names_the_first_256_deployments_and_counts_them_all() -> None:
    deployments = [_deployment(f"d-{i:03d}", "v1") for i in range(300)]
    cluster = FakeCluster("list", "patch_status", objects=[_bare_version("v1"), *deployments])
    assert mv_handler.sync_used_by(cluster, "ns") == 1
    status = cluster.objects[("ModelVersion", "ns", "v1")]["status"]
    assert status["usedByCount"] == 300
    assert status["usedBy"] == [f"d-{i:03d}" for i in range(256)]
    assert mv_handler.sync_used_by(cluster, "ns") == 0  # nothing changed: no second patch


async def test_a_burst_of_new_deployments_is_folded_into_one_more_used_by_round(
    tmp_path: Path,
) -> None:
    deployments = [_deployment(f"d-{i}", "v1") for i in range(50)]
    cluster = FakeCluster("list", "patch_status", objects=[_bare_version("v1"), *deployments])
    memo = make_context(cluster, tmp_path)
    log = logging.getLogger("test")
    await asyncio.gather(
        *(
            mv_handler.track_deployment_references(
                body=body_of(d), type="ADDED", memo=memo, logger=log
            )
            for d in deployments
        )
    )
    listings = [d for op, d in cluster.calls if op == "list" and d[0] == "ModelDeployment"]
    assert len(listings) == 2  # the first event's round, then one round for the other 49
    assert cluster.objects[("ModelVersion", "ns", "v1")]["status"]["usedByCount"] == 50
    assert memo.used_by_syncs == {}


def make_org(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": "acme", "uid": "o1", "generation": 2},
        "spec": {"displayName": "Acme", "slug": "acme", **spec},
    }


def test_organization_converges_children_and_reports_ready() -> None:
    cluster = FakeCluster("get", "apply", "delete", "list")
    status = organization.converge_organization(
        cluster, make_org(memberGroups={"viewer": ["v"]}), SETTINGS, 0, NOW
    ).status
    assert status["namespace"] == "mp-acme"
    assert status["observedGeneration"] == 2
    assert {c["type"]: c["status"] for c in status["conditions"]} == {"Ready": "True"}
    kinds = sorted(k for (k, _, _) in cluster.objects)
    assert kinds == ["LimitRange", "Namespace", "NetworkPolicy", "NetworkPolicy", "RoleBinding"]


def test_organization_gets_the_pods_mlflow_token_secret_when_the_operator_has_one() -> None:
    cluster = FakeCluster("get", "apply", "delete", "list")
    settings = SETTINGS.model_copy(update={"runtime_mlflow_token": SecretStr("t" * 43)})
    organization.converge_organization(cluster, make_org(), settings, 0, NOW)
    secret = cluster.objects[("Secret", "mp-acme", "modelplane-mlflow")]
    assert secret["data"] == {
        "MODELPLANE_RUNTIME_MLFLOW_TOKEN": base64.b64encode(b"t" * 43).decode()
    }
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "o1"
    without = FakeCluster("get", "apply", "delete", "list")
    organization.converge_organization(without, make_org(), SETTINGS, 0, NOW)
    assert "Secret" not in {k for (k, _, _) in without.objects}


def test_organization_prunes_bindings_of_roles_without_groups() -> None:
    stale = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "modelplane-admin", "namespace": "mp-acme"},
    }
    cluster = FakeCluster("get", "apply", "delete", "list", objects=[stale])
    organization.converge_organization(
        cluster, make_org(memberGroups={"viewer": ["v"]}), SETTINGS, 0, NOW
    )
    assert ("RoleBinding", "mp-acme", "modelplane-admin") not in cluster.objects
    assert ("RoleBinding", "mp-acme", "modelplane-viewer") in cluster.objects


def test_foreign_namespace_stalls_and_is_left_untouched() -> None:
    foreign = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mp-acme"}}
    cluster = FakeCluster("get", objects=[foreign])
    converged = organization.converge_organization(cluster, make_org(), SETTINGS, 0, NOW)
    assert isinstance(converged.error, kopf.PermanentError)
    stalled = {c["type"]: c for c in converged.status["conditions"]}["Stalled"]
    assert stalled["reason"] == "NamespaceConflict"
    assert [op for op, _ in cluster.calls] == ["get"]


def test_api_failure_during_converge_is_retried_with_reconciling() -> None:
    cluster = FakeCluster("get")
    cluster.fail_with = ClusterError("connection refused", transient=True)
    converged = organization.converge_organization(cluster, make_org(), SETTINGS, 1, NOW)
    assert isinstance(converged.error, kopf.TemporaryError)
    assert converged.error.delay == 4
    types = {c["type"] for c in converged.status["conditions"]}
    assert types == {"Ready", "Reconciling"}


def test_finalizer_deletes_deployments_first_and_the_namespace_only_after() -> None:
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "mp-acme", "labels": {"modelplane.io/organization": "acme"}},
    }
    deployment = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "d", "namespace": "mp-acme"},
    }
    cluster = FakeCluster("get", "list", "delete", objects=[namespace, deployment])
    assert "1 ModelDeployment" in (organization.finalize_organization(cluster, make_org()) or "")
    assert ("Namespace", None, "mp-acme") in cluster.objects
    assert organization.finalize_organization(cluster, make_org()) is None
    assert ("Namespace", None, "mp-acme") not in cluster.objects


def test_finalizer_never_deletes_a_namespace_it_did_not_make() -> None:
    foreign = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mp-acme"}}
    cluster = FakeCluster("get", objects=[foreign])
    assert organization.finalize_organization(cluster, make_org()) is None
    assert ("Namespace", None, "mp-acme") in cluster.objects


@pytest.mark.parametrize(
    ("operation", "old_spec", "deleting", "skip"),
    [
        ("UPDATE", {"a": 1}, False, True),
        ("UPDATE", {"a": 2}, False, False),
        ("UPDATE", {"a": 2}, True, True),
        ("CREATE", None, False, False),
    ],
)
def test_admission_lets_metadata_only_updates_and_deletions_through(
    operation: str, old_spec: Any, deleting: bool, skip: bool
) -> None:
    meta: dict[str, Any] = {"name": "x"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    body = body_of({"metadata": meta, "spec": {"a": 1}})
    old = {"spec": old_spec} if old_spec is not None else None
    assert admission._metadata_only(operation, body, old) is skip


async def test_admission_denies_a_cross_namespace_reference_through_kopf(tmp_path: Path) -> None:
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "mp-acme", "labels": {"modelplane.io/organization": "acme"}},
    }
    org = make_org()
    cluster = FakeCluster("get", objects=[namespace, org])
    body = body_of(
        {
            "metadata": {"name": "d", "namespace": "mp-acme"},
            "spec": {"stable": {"modelVersionRef": {"name": "mp-other/fraud-v1"}}},
        }
    )
    with pytest.raises(kopf.AdmissionError, match="references never cross namespaces"):
        await admission.validate_model_deployment(
            body=body,
            memo=make_context(cluster, tmp_path),
            operation="CREATE",
            userinfo={"username": "u", "groups": []},
        )


@pytest.mark.parametrize(
    ("username", "exempt"),
    [
        ("system:serviceaccount:modelplane-system:modelplane-operator", True),
        ("gitops-controller", True),
        # The facade's own identity is no longer exempt: it carries its caller (issue 29).
        ("system:serviceaccount:modelplane-system:modelplane-api", False),
        ("system:serviceaccount:modelplane-system:anything-else", False),
        ("modelplane:user:00000000-0000-0000-0000-000000000001", False),
    ],
)
def test_only_the_operator_and_named_users_are_exempt_from_the_production_rule(
    username: str, exempt: bool
) -> None:
    settings = Settings(privileged_users=["gitops-controller"])
    assert admission.exempt_from_production_rule(username, settings) is exempt


def test_metrics_count_outcomes_and_queue_depth() -> None:
    metrics = Metrics()
    with metrics.track("ModelVersion", "a"):
        pass
    with pytest.raises(kopf.TemporaryError), metrics.track("ModelVersion", "b"):
        raise kopf.TemporaryError("later")
    with pytest.raises(kopf.PermanentError), metrics.track("ModelVersion", "c"):
        raise kopf.PermanentError("never")
    sample = metrics.registry.get_sample_value
    assert (
        sample(
            "modelplane_operator_reconciles_total", {"kind": "ModelVersion", "outcome": "success"}
        )
        == 1
    )
    assert (
        sample("modelplane_operator_reconciles_total", {"kind": "ModelVersion", "outcome": "retry"})
        == 1
    )
    assert (
        sample(
            "modelplane_operator_reconciles_total", {"kind": "ModelVersion", "outcome": "stalled"}
        )
        == 1
    )
    assert sample("modelplane_operator_queue_depth", {"kind": "ModelVersion"}) == 1
    metrics.forget("ModelVersion", "b")
    assert sample("modelplane_operator_queue_depth", {"kind": "ModelVersion"}) == 0
    assert (
        sample("modelplane_operator_reconcile_duration_seconds_count", {"kind": "ModelVersion"})
        == 3
    )
