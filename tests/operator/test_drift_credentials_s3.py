"""A DriftMonitor's own credentials against the real S3 server (MinIO): minted by the operator's
STS gateway as the platform's plain MinIO user, with the session policy the operator writes,
they read their deployment's payload logs and feedback and the reference, write their own
history and profiles, and are refused everywhere else — with the same pyarrow filesystem the
drift job opens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow.fs as pafs
import pytest

from modelplane_operator.builders import drift_credentials as credentials
from modelplane_operator.drift.monitor import arguments_from_specs
from modelplane_operator.drift.reader import filesystem_for
from modelplane_operator.sts import CredentialsError, StsConfig, StsMinter

NS, OTHER_NS = "mp-acme", "mp-other"


@pytest.fixture
def objects(s3: Any) -> Iterator[dict[str, str]]:
    """One object in every place that matters, written with the root credentials."""
    keys = {
        "logs": f"{NS}/fraud/fraud-1/date=2026-12-07/hour=10/a.parquet",
        "candidate": f"{NS}/fraud/fraud-2/date=2026-12-07/hour=10/a.parquet",
        "feedback": f"{NS}/fraud/_feedback/date=2026-12-07/hour=10/f.parquet",
        "reference": f"{NS}/reference.parquet",
        "other deployment": f"{NS}/fraud-v2/fraud-1/date=2026-12-07/hour=10/a.parquet",
        "other namespace": f"{OTHER_NS}/fraud/fraud-1/date=2026-12-07/hour=10/a.parquet",
        "other history": f"{NS}/drift-history/other-monitor/2026-12-07T10:00:00+00:00.json",
    }
    client = s3.client()
    for key in keys.values():
        client.put_object(Bucket=s3.bucket, Key=key, Body=b"PAR1")
    yield keys
    client.delete_objects(
        Bucket=s3.bucket, Delete={"Objects": [{"Key": key} for key in keys.values()]}
    )


def _minter(s3: Any, **overrides: Any) -> StsMinter:
    config = {
        "endpoint_url": s3.endpoint_url,
        "access_key": s3.drift_access_key,
        "secret_key": s3.drift_secret_key,
        "region": s3.region,
        "role_arn": None,
        "duration_s": 3600,
    }
    return StsMinter(StsConfig(**(config | overrides)))


def _filesystem(
    s3: Any, minted: credentials.TemporaryCredentials, monkeypatch: pytest.MonkeyPatch
) -> pafs.FileSystem:
    """The job's filesystem, opened from the variables the job's pod gets from its Secret."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", minted.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", minted.secret_access_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", minted.session_token)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint_url)
    monkeypatch.setenv("AWS_REGION", s3.region)
    fs, _ = filesystem_for(f"s3://{s3.bucket}/")
    return fs


def _denied(action: Callable[[], object]) -> bool:
    """Whether S3 answered AccessDenied (any other error is raised: it would prove nothing)."""
    try:
        action()
    except OSError as exc:
        if "ACCESS_DENIED" not in str(exc) and "AccessDenied" not in str(exc):
            raise
        return True
    return False


def _write(fs: pafs.FileSystem, path: str) -> None:
    with fs.open_output_stream(path) as out:
        out.write(b"{}")


def test_a_monitors_credentials_reach_its_own_prefixes_and_nothing_else(
    s3: Any, objects: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scope = credentials.AccessScope(
        bucket=s3.bucket,
        namespace=NS,
        deployment="fraud",
        monitor="fraud-inputs",
        reference_uri=f"s3://{s3.bucket}/{objects['reference']}",
    )
    policy = credentials.policy_text(credentials.access_policy(scope))
    minted = _minter(s3).mint("drift-mp-acme-fraud-inputs", policy)
    assert minted.access_key_id not in (s3.access_key, s3.drift_access_key)
    fs = _filesystem(s3, minted, monkeypatch)
    bucket = s3.bucket

    def read(name: str) -> bytes:
        with fs.open_input_file(f"{bucket}/{objects[name]}") as handle:
            return bytes(handle.read())

    for allowed in ("logs", "candidate", "feedback", "reference"):
        assert read(allowed) == b"PAR1", allowed
    listed = fs.get_file_info(pafs.FileSelector(f"{bucket}/{NS}/fraud", recursive=True))
    assert {i.path for i in listed if i.is_file} == {
        f"{bucket}/{objects[n]}" for n in ("logs", "candidate", "feedback")
    }
    # Where the job writes, as `arguments_from_specs` names it for this monitor.
    arguments = arguments_from_specs(
        NS,
        "fraud",
        {"reference": {"uri": scope.reference_uri}},
        {},
        {},
        datetime.now(UTC),
        version_name="fraud-1",
        default_bucket=bucket,
        monitor_name="fraud-inputs",
    )
    for prefix in (arguments["history"], arguments["profile_cache"]):
        path = f"{prefix.removeprefix('s3://')}/written.json"
        _write(fs, path)
        with fs.open_input_file(path) as handle:
            assert handle.read() == b"{}"

    for refused in ("other deployment", "other namespace", "other history"):
        assert _denied(lambda r=refused: read(r)), refused  # type: ignore[misc]
    assert _denied(
        lambda: fs.get_file_info(pafs.FileSelector(f"{bucket}/{OTHER_NS}", recursive=True))
    )
    assert _denied(
        lambda: fs.get_file_info(pafs.FileSelector(f"{bucket}/{NS}/fraud-v2", recursive=True))
    )
    for outside in (
        f"{NS}/fraud/fraud-1/date=2026-12-07/hour=10/forged.parquet",  # its own logs: read only
        f"{NS}/drift-history/other-monitor/forged.json",
        f"{NS}/drift-profiles/other-monitor/forged.bin",
        f"{OTHER_NS}/drift-history/fraud-inputs/forged.json",
        f"{NS}/reference.parquet",
    ):
        assert _denied(lambda o=outside: _write(fs, f"{bucket}/{o}")), outside  # type: ignore[misc]
    keys = {o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert not any("forged" in key for key in keys)
    s3.client().delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": k} for k in keys if k.endswith("written.json")]},
    )


def test_the_minting_users_own_policy_bounds_any_session_policy(
    s3: Any, objects: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the platform mints as a plain user and not as root: the user may write only drift
    results, so even a session policy asking for everything cannot write payload logs."""
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}],
    }
    minted = _minter(s3).mint("drift-too-wide", credentials.policy_text(everything))
    fs = _filesystem(s3, minted, monkeypatch)
    with fs.open_input_file(f"{s3.bucket}/{objects['other namespace']}") as handle:
        assert handle.read() == b"PAR1"  # the user reads everything …
    forged = f"{s3.bucket}/{NS}/fraud/fraud-1/date=2026-12-07/hour=10/forged.parquet"
    assert _denied(lambda: _write(fs, forged))  # … and writes no payload log


def test_unknown_credentials_cannot_mint(s3: Any) -> None:
    policy = credentials.policy_text(
        credentials.access_policy(credentials.AccessScope(s3.bucket, NS, "fraud", "m"))
    )
    minter = _minter(s3, secret_key="not-the-users-secret")
    with pytest.raises(CredentialsError, match="AssumeRole"):
        minter.mint("drift-mp-acme-m", policy)
