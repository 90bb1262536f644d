"""A DriftMonitor's own S3 credentials: the session policy (exact prefixes), when they are minted
again, the Secret and the job's pod that takes them, and the pass that mints them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelplane_operator.builders import drift_credentials as credentials
from modelplane_operator.builders import drift_monitor as builders
from modelplane_operator.handlers.drift_monitor import REFRESH_MARGIN, converge_drift_monitor
from modelplane_operator.sts import CredentialsError
from tests.operator.fakes import FakeCluster

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
SCOPE = credentials.AccessScope(
    bucket="logs",
    namespace="mp-acme",
    deployment="fraud",
    monitor="fraud-inputs",
    reference_uri="s3://models/acme/fraud/reference.parquet",
)
OWNER: dict[str, Any] = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "DriftMonitor",
    "metadata": {"name": "fraud-inputs", "namespace": "mp-acme", "uid": "u-1", "generation": 1},
    "spec": {"deploymentRef": {"name": "fraud"}, "schedule": "*/5 * * * *"},
}
CONFIG = builders.JobConfig(image="op:t", payload_bucket="logs", scoped_credentials=True)


def _statements(policy: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if action in s["Action"]]


def test_the_policy_reads_the_deployments_logs_the_reference_and_writes_only_its_own_prefixes() -> (
    None
):
    policy = credentials.access_policy(SCOPE)
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    (read,) = _statements(policy, "s3:GetObject")
    assert read["Resource"] == [
        "arn:aws:s3:::logs/mp-acme/fraud/*",
        "arn:aws:s3:::logs/mp-acme/drift-history/fraud-inputs/*",
        "arn:aws:s3:::logs/mp-acme/drift-profiles/fraud-inputs/*",
        "arn:aws:s3:::models/acme/fraud/reference.parquet",
        "arn:aws:s3:::models/acme/fraud/reference.parquet/*",
    ]
    listing = {s["Resource"][0]: s["Condition"] for s in _statements(policy, "s3:ListBucket")}
    assert listing == {
        "arn:aws:s3:::logs": {
            "StringLike": {
                "s3:prefix": [
                    "mp-acme/fraud",
                    "mp-acme/fraud/*",
                    "mp-acme/drift-history/fraud-inputs/*",
                    "mp-acme/drift-profiles/fraud-inputs/*",
                ]
            }
        },
        "arn:aws:s3:::models": {
            "StringLike": {
                "s3:prefix": ["acme/fraud/reference.parquet", "acme/fraud/reference.parquet/*"]
            }
        },
    }
    (write,) = _statements(policy, "s3:PutObject")
    assert write["Resource"] == [
        "arn:aws:s3:::logs/mp-acme/drift-history/fraud-inputs/*",
        "arn:aws:s3:::logs/mp-acme/drift-profiles/fraud-inputs/*",
    ]
    assert [s["Action"] for s in policy["Statement"]] == [
        ["s3:GetObject"],
        ["s3:ListBucket"],
        ["s3:ListBucket"],
        ["s3:PutObject", "s3:AbortMultipartUpload"],
    ]
    assert len(credentials.policy_text(policy)) < 2048  # AWS's cap on a session policy


@pytest.mark.parametrize(
    "reference",
    [
        "s3://logs/mp-other/fraud/reference.parquet",  # another org's prefix of the same bucket
        "s3://logs/reference.parquet",  # outside any namespace
        "s3://models/*",  # a wildcard would widen the grant
        "s3://models/ref-${aws:username}",
        "s3://models",  # a whole bucket
        "/data/reference.parquet",  # not S3: nothing to grant
        None,
    ],
)
def test_a_reference_is_granted_only_where_the_monitor_may_read(reference: str | None) -> None:
    policy = credentials.access_policy(
        credentials.AccessScope("logs", "mp-acme", "fraud", "fraud-inputs", reference)
    )
    (read,) = _statements(policy, "s3:GetObject")
    assert len(read["Resource"]) == 3  # the logs, the history and the profiles only
    assert len(_statements(policy, "s3:ListBucket")) == 1


def test_a_reference_under_its_own_namespace_in_the_payload_bucket_is_granted() -> None:
    scope = credentials.AccessScope(
        "logs", "mp-acme", "fraud", "fraud-inputs", "s3://logs/mp-acme/reference.parquet"
    )
    (read,) = _statements(credentials.access_policy(scope), "s3:GetObject")
    assert "arn:aws:s3:::logs/mp-acme/reference.parquet" in read["Resource"]


def test_credentials_are_minted_again_without_a_record_for_another_policy_or_near_expiry() -> None:
    digest = credentials.policy_digest(credentials.access_policy(SCOPE))
    fresh = credentials.TemporaryCredentials("a", "s", "t", NOW + timedelta(hours=1))
    remembered = credentials.minted_annotations(fresh, digest)
    margin = REFRESH_MARGIN
    assert credentials.credentials_due({}, digest, NOW, margin)
    assert not credentials.credentials_due(remembered, digest, NOW, margin)
    assert credentials.credentials_due(remembered, "another", NOW, margin)
    later = NOW + timedelta(hours=1) - margin + timedelta(seconds=1)
    assert credentials.credentials_due(remembered, digest, later, margin)
    assert margin > timedelta(seconds=builders.JOB_DEADLINE_S)  # a job outlives no credentials


def test_the_job_takes_its_monitors_own_credentials_and_no_org_secret() -> None:
    ref = {"kind": "DriftMonitor", "name": "fraud-inputs"}
    job = builders.build_cron_job(OWNER, ref, _spec(), CONFIG, suspend=False)
    (container,) = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert refs == {
        key: {"name": "drift-fraud-inputs-s3", "key": key}
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    }


class Minter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = False

    def mint(self, session_name: str, policy: str) -> credentials.TemporaryCredentials:
        if self.fail:
            raise CredentialsError("STS AssumeRole failed: connection refused")
        self.calls.append((session_name, policy))
        n = len(self.calls)
        return credentials.TemporaryCredentials(
            f"key-{n}", "secret", "token", NOW + timedelta(hours=1)
        )


def _spec() -> Any:
    from modelplane_crds.drift_monitor import DriftMonitorSpec

    return DriftMonitorSpec.model_validate(OWNER["spec"])


def _objects(reference: str) -> list[dict[str, Any]]:
    deployment = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": "mp-acme"},
        "spec": {"stable": {"modelVersionRef": {"name": "fraud-1"}},
                 "payloadLogging": {"sampleRate": 1.0}},
        "status": {"stableVersion": "fraud-1"},
    }  # fmt: skip
    version = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": "fraud-1", "namespace": "mp-acme"},
        "spec": {"referenceDataset": {"uri": reference, "sha256": "a" * 64}},
    }
    return [deployment, version, OWNER]


def test_the_pass_mints_once_into_the_monitors_secret_and_again_when_the_reference_moves() -> None:
    cluster = FakeCluster("get", "apply", "annotate", objects=_objects("s3://logs/mp-acme/r1"))
    minter = Minter()
    converged = converge_drift_monitor(cluster, OWNER, CONFIG, 0, NOW, minter=minter)
    assert converged.error is None
    ((session, policy),) = minter.calls
    assert session == "drift-mp-acme-fraud-inputs"
    assert '"arn:aws:s3:::logs/mp-acme/r1"' in policy
    secret = cluster.objects[("Secret", "mp-acme", "drift-fraud-inputs-s3")]
    assert secret["metadata"]["ownerReferences"][0]["name"] == "fraud-inputs"
    assert base64.b64decode(secret["data"]["AWS_ACCESS_KEY_ID"]) == b"key-1"
    assert base64.b64decode(secret["data"]["AWS_SESSION_TOKEN"]) == b"token"

    body = cluster.objects[("DriftMonitor", "mp-acme", "fraud-inputs")]  # with its record
    converge_drift_monitor(cluster, body, CONFIG, 0, NOW + timedelta(minutes=5), minter=minter)
    assert len(minter.calls) == 1  # still fresh, same scope

    version = cluster.objects[("ModelVersion", "mp-acme", "fraud-1")]
    version["spec"]["referenceDataset"]["uri"] = "s3://logs/mp-acme/r2"
    converge_drift_monitor(cluster, body, CONFIG, 0, NOW + timedelta(minutes=6), minter=minter)
    assert len(minter.calls) == 2
    assert '"arn:aws:s3:::logs/mp-acme/r2"' in minter.calls[1][1]


def test_sts_trouble_is_retried_and_no_secret_is_written() -> None:
    cluster = FakeCluster("get", "apply", "annotate", objects=_objects("s3://logs/mp-acme/r1"))
    minter = Minter()
    minter.fail = True
    converged = converge_drift_monitor(cluster, OWNER, CONFIG, 0, NOW, minter=minter)
    assert converged.error is not None
    assert "AssumeRole" in str(converged.error)
    assert ("Secret", "mp-acme", "drift-fraud-inputs-s3") not in cluster.objects
