"""The operator's door to STS: temporary S3 credentials narrowed by an inline session policy.

`AssumeRole` with a `Policy` returns credentials whose rights are the intersection of the
caller's (or the role's) and that policy. On MinIO the STS endpoint is the S3 endpoint and the
role ARN is ignored; the caller should be a plain user whose own policy only reads and writes
drift results (`modelplane dev up` creates `modelplane-drift`), so that no session policy can
grant more. On AWS the caller assumes `role_arn` (a role with that same reach) through the
regular STS endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelplane_operator.aws import aws_client
from modelplane_operator.builders.drift_credentials import TemporaryCredentials

MINIO_ROLE_ARN = "arn:minio:iam:::role/modelplane-drift"
"""Sent when no role is configured: MinIO ignores the ARN for a user's AssumeRole, but the STS
API requires one."""


class CredentialsError(Exception):
    """STS refused or could not be reached (transient from the operator's point of view)."""


@dataclass(frozen=True)
class StsConfig:
    endpoint_url: str | None
    access_key: str | None
    secret_key: str | None
    region: str
    role_arn: str | None
    duration_s: int


class StsMinter:
    """Mints one monitor's credentials per call (a boto3 STS client, created once)."""

    def __init__(self, config: StsConfig) -> None:
        self._config = config
        self._client: Any = None

    @property
    def duration_s(self) -> int:
        return self._config.duration_s

    def mint(self, session_name: str, policy: str) -> TemporaryCredentials:
        """Temporary credentials limited to `policy` (JSON), valid for `duration_s`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._sts().assume_role(
                RoleArn=self._config.role_arn or MINIO_ROLE_ARN,
                RoleSessionName=session_name[:64],
                Policy=policy,
                DurationSeconds=self._config.duration_s,
            )
        except (BotoCoreError, ClientError) as exc:
            raise CredentialsError(f"STS AssumeRole failed: {exc}") from exc
        found = answer["Credentials"]
        return TemporaryCredentials(
            access_key_id=found["AccessKeyId"],
            secret_access_key=found["SecretAccessKey"],
            session_token=found["SessionToken"],
            expiration=found["Expiration"],
        )

    def _sts(self) -> Any:
        if self._client is None:
            cfg = self._config
            self._client = aws_client(
                "sts", cfg.endpoint_url, cfg.access_key, cfg.secret_key, cfg.region,
                read_timeout=30,
            )  # fmt: skip
        return self._client
