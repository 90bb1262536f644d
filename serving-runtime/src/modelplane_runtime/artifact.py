"""Fetch the model artifact into a local cache and verify its sha256 digest.

Sources: `file:///abs/path.onnx`, `s3://bucket/key` (boto3; endpoint and credentials from the
settings or the usual AWS variables), `https://…` (the same URIs the operator verifies) and
`models:/<name>/<version>` (the MLflow server's
`/model-versions/get-artifact` endpoint, so neither the full mlflow package nor direct access to
MLflow's bucket is needed). Downloads stream into a temporary file with a size cap, are hashed
while they stream and are renamed into `<cache_dir>/<sha256>.onnx` only when the digest matches,
so a cache hit is always a verified artifact.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from modelplane_runtime.errors import ArtifactTooLarge, ArtifactUnreachable, DigestMismatch
from modelplane_runtime.settings import RuntimeSettings

_CHUNK = 1024 * 1024


def fetch_artifact(settings: RuntimeSettings) -> bytes:
    """Return the verified bytes of the model artifact named by the settings."""
    digest, limit = settings.model_sha256, settings.max_artifact_bytes
    cached = settings.cache_dir / f"{digest}.onnx"
    if cached.is_file():
        data = _read_limited(cached, limit)
        if hashlib.sha256(data).hexdigest() == digest:
            return data
        cached.unlink()  # a corrupted cache entry is refetched
    uri = settings.model_uri
    scheme = urlparse(uri).scheme
    if scheme == "file":
        data = _read_limited(Path(unquote(urlparse(uri).path)), limit)
        _verify(data, digest, uri)
        return data
    if scheme == "s3":
        chunks = _s3_chunks(uri, settings)
    elif scheme == "models":
        chunks = _mlflow_chunks(uri, settings)
    elif scheme == "https":
        chunks = _https_chunks(uri, limit)
    else:
        raise ArtifactUnreachable(
            f"unsupported artifact URI scheme in {uri!r} (use file://, s3://, https:// or models:/)"
        )
    return _download(chunks, cached, digest, limit, uri)


def _verify(data: bytes, digest: str, uri: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise DigestMismatch(f"artifact {uri} has sha256 {actual}, expected {digest}")


def _read_limited(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise ArtifactTooLarge(f"artifact {path} is {size} bytes, the limit is {limit}")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ArtifactUnreachable(f"artifact file {path} does not exist") from exc
    except (IsADirectoryError, PermissionError) as exc:
        raise ArtifactUnreachable(f"artifact file {path} cannot be read: {exc}") from exc


def _download(chunks: Iterable[bytes], cached: Path, digest: str, limit: int, uri: str) -> bytes:
    cached.parent.mkdir(parents=True, exist_ok=True)
    hasher, parts, size = hashlib.sha256(), [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise ArtifactTooLarge(f"artifact {uri} is larger than the limit of {limit} bytes")
        hasher.update(chunk)
        parts.append(chunk)
    actual = hasher.hexdigest()
    if actual != digest:
        raise DigestMismatch(f"artifact {uri} has sha256 {actual}, expected {digest}")
    data = b"".join(parts)
    fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    Path(tmp).replace(cached)
    return data


def s3_client(settings: RuntimeSettings) -> Any:
    """A boto3 S3 client for the configured endpoint (or AWS defaults)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        region_name=settings.s3_region,
        config=Config(
            retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}
        ),
    )


def _s3_chunks(uri: str, settings: RuntimeSettings) -> Iterable[bytes]:
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(uri)
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    try:
        obj = s3_client(settings).get_object(Bucket=bucket, Key=key)
        if obj["ContentLength"] > settings.max_artifact_bytes:
            raise ArtifactTooLarge(
                f"artifact {uri} is {obj['ContentLength']} bytes, the limit "
                f"is {settings.max_artifact_bytes}"
            )
        return list(obj["Body"].iter_chunks(_CHUNK))
    except (BotoCoreError, ClientError) as exc:
        raise ArtifactUnreachable(f"cannot read artifact {uri}: {exc}") from exc


def _https_chunks(uri: str, limit: int) -> Iterable[bytes]:
    """GET an `https://` artifact, stopping as soon as it exceeds the size limit."""
    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream("GET", uri, timeout=60.0, follow_redirects=True) as response:
            if response.status_code != 200:
                raise ArtifactUnreachable(f"fetching {uri} answered {response.status_code}")
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ArtifactTooLarge(
                        f"artifact {uri} is larger than the limit of {limit} bytes"
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ArtifactUnreachable(f"cannot fetch artifact {uri}: {exc}") from exc
    return chunks


def _mlflow_chunks(uri: str, settings: RuntimeSettings) -> Iterable[bytes]:
    parts = uri.removeprefix("models:/").strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise ArtifactUnreachable(f"MLflow model URI must be models:/<name>/<version>: {uri!r}")
    if not settings.mlflow_tracking_uri:
        raise ArtifactUnreachable(f"{uri} needs MODELPLANE_RUNTIME_MLFLOW_TRACKING_URI")
    headers = {"Authorization": f"Bearer {settings.mlflow_token}"} if settings.mlflow_token else {}
    url = settings.mlflow_tracking_uri.rstrip("/") + "/model-versions/get-artifact"
    params = {"name": parts[0], "version": parts[1], "path": settings.mlflow_artifact_path}
    chunks: list[bytes] = []
    try:
        with httpx.stream("GET", url, params=params, headers=headers, timeout=60.0) as response:
            if response.status_code != 200:
                raise ArtifactUnreachable(
                    f"MLflow answered {response.status_code} for {uri}: {response.read()[:300]!r}"
                )
            size = 0
            for chunk in response.iter_bytes(_CHUNK):
                size += len(chunk)
                if size > settings.max_artifact_bytes:
                    raise ArtifactTooLarge(
                        f"artifact {uri} is larger than the limit of "
                        f"{settings.max_artifact_bytes} bytes"
                    )
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ArtifactUnreachable(f"cannot reach MLflow for {uri}: {exc}") from exc
    return chunks
