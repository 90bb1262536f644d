"""boto3 clients for the operator's gateways to AWS APIs (S3 for artifacts, STS for the drift
jobs' credentials): one place for timeouts, retries and MinIO's path-style addressing."""

from __future__ import annotations

from typing import Any, Literal


def aws_client(
    service: Literal["s3", "sts"],
    endpoint_url: str | None,
    access_key: str | None,
    secret_key: str | None,
    region: str,
    *,
    read_timeout: float,
) -> Any:
    """A boto3 client; unset endpoint and keys fall back to boto3's own lookup and chain."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=Config(
            connect_timeout=5,
            read_timeout=read_timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            s3={"addressing_style": "path"},
        ),
    )
