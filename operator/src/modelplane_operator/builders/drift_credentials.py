"""A DriftMonitor's own S3 credentials: what they may touch, and the Secret that carries them
(pure; the operator mints them through `sts`).

The job's credentials are temporary (STS AssumeRole with an inline session policy), minted by the
operator per monitor and kept in the Secret `drift-<monitor>-s3` that its CronJob reads. The
session policy allows exactly what the job does (`drift.monitor` names the same prefixes):

- read and list `<bucket>/<namespace>/<deployment>/` — every version's payload logs and the
  deployment's feedback (`_feedback`), which the quality join reads;
- read the reference dataset (the monitor's `reference.uri`, else the stable version's), the
  object and anything below it;
- read and write `<bucket>/<namespace>/drift-history/<monitor>/` and
  `<bucket>/<namespace>/drift-profiles/<monitor>/`.

Nothing else: no other deployment, namespace or monitor, no write outside its two prefixes. The
effective rights are this policy intersected with the minting identity's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from modelplane_crds.payload_logs import deployment_prefix
from modelplane_operator.builders.drift_monitor import (
    ACCESS_KEY,
    SECRET_KEY,
    SESSION_TOKEN,
    job_labels,
    secret_name,
)
from modelplane_operator.drift.monitor import history_prefix, profiles_prefix

EXPIRES_AT = "modelplane.io/credentials-expire-at"
POLICY_DIGEST = "modelplane.io/credentials-policy-sha256"
_WILDCARDS = frozenset("*?$")


@dataclass(frozen=True)
class AccessScope:
    """Where one monitor's job reads and writes."""

    bucket: str
    namespace: str
    deployment: str
    monitor: str
    reference_uri: str | None = None


@dataclass(frozen=True)
class TemporaryCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


def reference_location(scope: AccessScope) -> tuple[str, str] | None:
    """The reference's (bucket, key) when the job may be allowed to read it: an `s3://` URI
    without policy wildcards, and inside the payload bucket only under its own namespace (so a
    monitor cannot name another organization's logs as its reference)."""
    uri = scope.reference_uri or ""
    if not uri.startswith("s3://") or _WILDCARDS & set(uri):
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    key = key.strip("/")
    if not bucket or not key:
        return None
    if bucket == scope.bucket and not key.startswith(f"{scope.namespace}/"):
        return None
    return bucket, key


def access_policy(scope: AccessScope) -> dict[str, Any]:
    """The session policy of the monitor's credentials (see the module docstring)."""
    logs = deployment_prefix(scope.namespace, scope.deployment)
    own = [history_prefix(scope.namespace, scope.monitor),
           profiles_prefix(scope.namespace, scope.monitor)]  # fmt: skip
    readable = {scope.bucket: [f"{logs}*", *(f"{p}*" for p in own)]}
    listable = {scope.bucket: [logs.rstrip("/"), f"{logs}*", *(f"{p}*" for p in own)]}
    reference = reference_location(scope)
    if reference is not None:
        bucket, key = reference
        readable.setdefault(bucket, []).extend([key, f"{key}/*"])
        listable.setdefault(bucket, []).extend([key, f"{key}/*"])
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [_arn(b, k) for b, keys in readable.items() for k in keys],
        },
        *(
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [_arn(bucket)],
                "Condition": {"StringLike": {"s3:prefix": prefixes}},
            }
            for bucket, prefixes in listable.items()
        ),
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": [_arn(scope.bucket, f"{p}*") for p in own],
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def policy_text(policy: Mapping[str, Any]) -> str:
    """The policy as sent to STS (compact: AWS caps a session policy at 2,048 characters)."""
    return json.dumps(policy, separators=(",", ":"), sort_keys=True)


def policy_digest(policy: Mapping[str, Any]) -> str:
    return hashlib.sha256(policy_text(policy).encode()).hexdigest()


def credentials_due(
    annotations: Mapping[str, str], digest: str, now: datetime, margin: timedelta
) -> bool:
    """Whether to mint again, from the monitor's annotations (the operator may write Secrets but
    not read them): none minted yet, another policy (a new stable version's reference), or less
    than `margin` left before the credentials expire."""
    if annotations.get(POLICY_DIGEST) != digest:
        return True
    try:
        expires = datetime.fromisoformat(annotations[EXPIRES_AT])
    except (KeyError, ValueError):
        return True
    return expires - now < margin


def minted_annotations(credentials: TemporaryCredentials, digest: str) -> dict[str, str]:
    """What the monitor (and its Secret) remember of the credentials last minted."""
    return {EXPIRES_AT: credentials.expiration.isoformat(), POLICY_DIGEST: digest}


def build_credentials_secret(
    owner: Mapping[str, Any],
    owner_ref: Mapping[str, Any],
    credentials: TemporaryCredentials,
    digest: str,
) -> dict[str, Any]:
    """The Secret the job's pod takes its AWS_* variables from, owned by the monitor."""
    name = owner["metadata"]["name"]
    values = {
        ACCESS_KEY: credentials.access_key_id,
        SECRET_KEY: credentials.secret_access_key,
        SESSION_TOKEN: credentials.session_token,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name(name),
            "namespace": owner["metadata"]["namespace"],
            "labels": job_labels(name),
            "annotations": minted_annotations(credentials, digest),
            "ownerReferences": [dict(owner_ref)],
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }
