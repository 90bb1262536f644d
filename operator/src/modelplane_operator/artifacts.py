"""Fetch a model artifact and prove it is what the ModelVersion says, without running it.

Called by the ModelVersion reconcile (in a worker thread). The steps, each with its own stable
reason when it fails:

1. fetch from `s3://`, `https://`, `file://` (under a configured root only) or an MLflow
   `models:/<name>/<version>[/<path>]` URI, streaming and stopping at the size limit
   (`ArtifactTooLarge`); unreachable sources are `ArtifactUnreachable`, transient (retry) or
   permanent (missing object, refused access);
2. sha256 of the bytes against the declared digest (`DigestMismatch`);
3. the shared ONNX policy (`modelplane_onnx`, the one the facade and the serving pods run):
   parse (`NotOnnx`), refuse external data, custom operator domains and oversized graphs, open
   with onnxruntime without running anything (`InvalidModel`), compare the declared signature
   with the session (`SignatureMismatch`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

import modelplane_onnx as onnx_policy
from modelplane_crds.model_version import (
    ARTIFACT_TOO_LARGE,
    ARTIFACT_UNREACHABLE,
    DIGEST_MISMATCH,
    ModelVersionSpec,
)
from modelplane_crds.serving import ServingLimits
from modelplane_operator.aws import aws_client

CHUNK = 1024 * 1024


class ArtifactProblem(Exception):  # noqa: N818 - a verdict, raised to the reconcile
    """Verification failed with a stable reason; `transient` means retrying may help."""

    def __init__(self, reason: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class VerifiedArtifact:
    """What was proven about the artifact."""

    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class S3Config:
    """How to reach S3 (or MinIO)."""

    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"


# --------------------------------------------------------------------------------------------
# Fetching


class ArtifactFetcher:
    """Reads artifact bytes from the sources a ModelVersion may name, with a size cap."""

    def __init__(
        self,
        s3: S3Config,
        *,
        file_root: Path | None = None,
        mlflow_uri: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self._s3_config = s3
        self._s3: Any = None
        self._file_root = file_root.resolve() if file_root else None
        self._mlflow_uri = mlflow_uri.rstrip("/") if mlflow_uri else None
        self._timeout_s = timeout_s

    def fetch(self, uri: str, limit: int) -> bytes:
        """The artifact's bytes; ArtifactProblem if unreachable or bigger than `limit`."""
        scheme = uri.split(":", 1)[0]
        if scheme == "s3":
            return self._fetch_s3(uri, limit)
        if scheme == "file":
            return self._fetch_file(uri, limit)
        if scheme == "https":
            return self._fetch_http(uri, limit, {})
        if scheme == "models":
            return self._fetch_mlflow(uri, limit)
        raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"unsupported artifact URI scheme {scheme!r}")

    def _client(self) -> Any:
        if self._s3 is None:
            cfg = self._s3_config
            self._s3 = aws_client(
                "s3", cfg.endpoint_url, cfg.access_key, cfg.secret_key, cfg.region,
                read_timeout=self._timeout_s,
            )  # fmt: skip
        return self._s3

    def _fetch_s3(self, uri: str, limit: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        parsed = urlparse(uri)
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        if not bucket or not key:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri} does not name a bucket and key")
        try:
            head = self._client().head_object(Bucket=bucket, Key=key)
            _check_size(uri, int(head.get("ContentLength", 0)), limit)
            body = self._client().get_object(Bucket=bucket, Key=key)["Body"]
            try:
                return _read_capped(uri, body.iter_chunks(CHUNK), limit)
            finally:
                body.close()
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            code = str(exc.response.get("Error", {}).get("Code", ""))
            transient = status >= 500 or status == 429 or code in {"SlowDown", "RequestTimeout"}
            what = "not found" if status == 404 or code in {"NoSuchKey", "NoSuchBucket"} else code
            raise ArtifactProblem(
                ARTIFACT_UNREACHABLE, f"{uri}: {what or exc}", transient=transient
            ) from exc
        except BotoCoreError as exc:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri}: {exc}", transient=True) from exc

    def _fetch_file(self, uri: str, limit: int) -> bytes:
        if self._file_root is None:
            raise ArtifactProblem(
                ARTIFACT_UNREACHABLE, "file:// artifacts are disabled (no file artifact root)"
            )
        path = Path(urlparse(uri).path).resolve()
        if not path.is_relative_to(self._file_root):
            raise ArtifactProblem(
                ARTIFACT_UNREACHABLE, f"{uri} is outside the file artifact root {self._file_root}"
            )
        try:
            _check_size(uri, path.stat().st_size, limit)
            with path.open("rb") as handle:
                return _read_capped(uri, iter(lambda: handle.read(CHUNK), b""), limit)
        except FileNotFoundError as exc:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri}: not found") from exc
        except OSError as exc:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri}: {exc}", transient=True) from exc

    def _fetch_http(self, url: str, limit: int, params: dict[str, str]) -> bytes:
        try:
            with (
                httpx.Client(timeout=self._timeout_s, follow_redirects=True) as client,
                client.stream("GET", url, params=params) as response,
            ):
                if response.status_code >= 400:
                    transient = response.status_code >= 500 or response.status_code == 429
                    raise ArtifactProblem(
                        ARTIFACT_UNREACHABLE,
                        f"{url}: HTTP {response.status_code}",
                        transient=transient,
                    )
                length = response.headers.get("content-length")
                if length is not None and length.isdigit():
                    _check_size(url, int(length), limit)
                return _read_capped(url, response.iter_bytes(CHUNK), limit)
        except httpx.HTTPError as exc:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{url}: {exc}", transient=True) from exc

    def _fetch_mlflow(self, uri: str, limit: int) -> bytes:
        """`models:/<name>/<version>[/<path>]` through the tracking server's artifact proxy."""
        if self._mlflow_uri is None:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri}: no MLflow tracking URI configured")
        parts = uri.removeprefix("models:/").split("/")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri}: expected models:/<name>/<version>")
        name, version, path = parts[0], parts[1], "/".join(parts[2:]) or "model.onnx"
        return self._fetch_http(
            f"{self._mlflow_uri}/model-versions/get-artifact",
            limit,
            {"name": name, "version": version, "path": path},
        )


def _check_size(uri: str, size: int, limit: int) -> None:
    if size > limit:
        raise ArtifactProblem(
            ARTIFACT_TOO_LARGE, f"{uri} is {size} bytes, more than the limit of {limit} bytes"
        )


def _read_capped(uri: str, chunks: Iterable[bytes], limit: int) -> bytes:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            raise ArtifactProblem(
                ARTIFACT_TOO_LARGE, f"{uri} is more than the limit of {limit} bytes"
            )
    return bytes(buffer)


# --------------------------------------------------------------------------------------------
# Verifying


def verify_bytes(data: bytes, spec: ModelVersionSpec, limits: ServingLimits) -> VerifiedArtifact:
    """Check digest, ONNX safety rules, that onnxruntime opens it, and the signature."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.artifact.sha256:
        raise ArtifactProblem(
            DIGEST_MISMATCH,
            f"artifact sha256 is {digest}, the ModelVersion declares {spec.artifact.sha256}",
        )
    try:
        onnx_limits = onnx_policy.Limits(limits.max_nodes, frozenset(limits.allowed_domains))
        onnx_policy.check_safe(onnx_policy.parse(data), onnx_limits)
        session = onnx_policy.open_session(data)
        onnx_policy.check_signature(session, spec.signature.inputs, spec.signature.outputs)
    except onnx_policy.ModelRefused as refused:
        raise ArtifactProblem(refused.reason, refused.message) from refused
    return VerifiedArtifact(sha256=digest, size_bytes=len(data))


def verify_artifact(
    fetcher: ArtifactFetcher, spec: ModelVersionSpec, limits: ServingLimits
) -> VerifiedArtifact:
    """Fetch (capped at the smaller of the spec's and the platform's limit) and verify, under
    the limits the version's serving pods are given (`ServingLimits.for_artifact`)."""
    limits = limits.for_artifact(spec.artifact)
    data = fetcher.fetch(spec.artifact.uri, limits.max_artifact_bytes)
    return verify_bytes(data, spec, limits)


Verifier = Callable[[ModelVersionSpec], VerifiedArtifact]
