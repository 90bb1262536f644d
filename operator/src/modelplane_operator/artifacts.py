"""Fetch a model artifact and prove it is what the ModelVersion says, without running it.

Called by the ModelVersion reconcile (in a worker thread). The steps, each with its own stable
reason when it fails:

1. fetch from `s3://`, `https://`, `file://` (under a configured root only) or an MLflow
   `models:/<name>/<version>[/<path>]` URI, streamed into a temporary file (the system's
   temporary directory: an emptyDir at `/tmp` in the cluster) and hashed on the way, stopping at
   the size limit (`ArtifactTooLarge`); unreachable sources are `ArtifactUnreachable`, transient
   (retry) or permanent (missing object, refused access);
2. the sha256 computed while streaming against the declared digest (`DigestMismatch`);
3. the shared ONNX policy (`modelplane_onnx`, the one the facade and the serving pods run) over
   that file, as the facade checks an upload: the graph's structure read past the weights
   (`NotOnnx`), external data, custom operator domains and oversized graphs refused, onnxruntime
   opening the file without running anything (`InvalidModel`), the declared signature compared
   with the session (`SignatureMismatch`).

The artifact is never held in memory: a chunk at a time while it streams, then what onnxruntime
needs to open the file; the file is deleted once verified or refused.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
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
class Streamed:
    """What streaming an artifact into a file measured on the way."""

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
    """Streams an artifact from the sources a ModelVersion may name into a file, with a
    size cap."""

    def __init__(
        self,
        s3: S3Config,
        *,
        file_root: Path | None = None,
        mlflow_uri: str | None = None,
        mlflow_token: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self._s3_config = s3
        self._s3: Any = None
        self._file_root = file_root.resolve() if file_root else None
        self._mlflow_uri = mlflow_uri.rstrip("/") if mlflow_uri else None
        self._mlflow_headers = {"Authorization": f"Bearer {mlflow_token}"} if mlflow_token else {}
        self._timeout_s = timeout_s

    def fetch(self, uri: str, limit: int, sink: IO[bytes]) -> Streamed:
        """Write the artifact's bytes to `sink`; their digest and size (ArtifactProblem if
        unreachable or bigger than `limit`)."""
        scheme = uri.split(":", 1)[0]
        if scheme == "s3":
            return self._fetch_s3(uri, limit, sink)
        if scheme == "file":
            return self._fetch_file(uri, limit, sink)
        if scheme == "https":
            return self._fetch_http(uri, limit, {}, sink, {})
        if scheme == "models":
            return self._fetch_mlflow(uri, limit, sink)
        raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"unsupported artifact URI scheme {scheme!r}")

    def _client(self) -> Any:
        if self._s3 is None:
            cfg = self._s3_config
            self._s3 = aws_client(
                "s3", cfg.endpoint_url, cfg.access_key, cfg.secret_key, cfg.region,
                read_timeout=self._timeout_s,
            )  # fmt: skip
        return self._s3

    def _fetch_s3(self, uri: str, limit: int, sink: IO[bytes]) -> Streamed:
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
                return _stream_capped(uri, body.iter_chunks(CHUNK), limit, sink)
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

    def _fetch_file(self, uri: str, limit: int, sink: IO[bytes]) -> Streamed:
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
                return _stream_capped(uri, iter(lambda: handle.read(CHUNK), b""), limit, sink)
        except FileNotFoundError as exc:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri}: not found") from exc
        except OSError as exc:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{uri}: {exc}", transient=True) from exc

    def _fetch_http(
        self,
        url: str,
        limit: int,
        params: dict[str, str],
        sink: IO[bytes],
        headers: dict[str, str],
    ) -> Streamed:
        # httpx drops Authorization on a redirect to another origin.
        try:
            with (
                httpx.Client(timeout=self._timeout_s, follow_redirects=True) as client,
                client.stream("GET", url, params=params, headers=headers) as response,
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
                return _stream_capped(url, response.iter_bytes(CHUNK), limit, sink)
        except httpx.HTTPError as exc:
            raise ArtifactProblem(ARTIFACT_UNREACHABLE, f"{url}: {exc}", transient=True) from exc

    def _fetch_mlflow(self, uri: str, limit: int, sink: IO[bytes]) -> Streamed:
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
            sink,
            self._mlflow_headers,
        )


def _check_size(uri: str, size: int, limit: int) -> None:
    if size > limit:
        raise ArtifactProblem(
            ARTIFACT_TOO_LARGE, f"{uri} is {size} bytes, more than the limit of {limit} bytes"
        )


def _stream_capped(uri: str, chunks: Iterable[bytes], limit: int, sink: IO[bytes]) -> Streamed:
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise ArtifactProblem(
                ARTIFACT_TOO_LARGE, f"{uri} is more than the limit of {limit} bytes"
            )
        digest.update(chunk)
        sink.write(chunk)
    return Streamed(digest.hexdigest(), size)


# --------------------------------------------------------------------------------------------
# Verifying


def verify_file(
    path: Path, streamed: Streamed, spec: ModelVersionSpec, limits: ServingLimits
) -> VerifiedArtifact:
    """Check the streamed digest, the ONNX safety rules, that onnxruntime opens the file, and
    the signature."""
    if streamed.sha256 != spec.artifact.sha256:
        raise ArtifactProblem(
            DIGEST_MISMATCH,
            f"artifact sha256 is {streamed.sha256}, the ModelVersion declares "
            f"{spec.artifact.sha256}",
        )
    try:
        onnx_limits = onnx_policy.Limits(limits.max_nodes, frozenset(limits.allowed_domains))
        session = onnx_policy.open_checked_file(path, onnx_limits)
        onnx_policy.check_signature(session, spec.signature.inputs, spec.signature.outputs)
    except onnx_policy.ModelRefused as refused:
        raise ArtifactProblem(refused.reason, refused.message) from refused
    return VerifiedArtifact(sha256=streamed.sha256, size_bytes=streamed.size_bytes)


def verify_artifact(
    fetcher: ArtifactFetcher, spec: ModelVersionSpec, limits: ServingLimits
) -> VerifiedArtifact:
    """Stream into a temporary file (capped at the smaller of the spec's and the platform's
    limit) and verify it, under the limits the version's serving pods are given
    (`ServingLimits.for_artifact`); the file is gone when this returns or raises."""
    limits = limits.for_artifact(spec.artifact)
    try:
        with tempfile.TemporaryDirectory(prefix="modelplane-artifact-") as folder:
            path = Path(folder) / "model.onnx"
            with path.open("wb") as sink:
                streamed = fetcher.fetch(spec.artifact.uri, limits.max_artifact_bytes, sink)
            return verify_file(path, streamed, spec, limits)
    except OSError as exc:  # the local temporary directory (full, not writable): retry later
        raise ArtifactProblem(
            ARTIFACT_UNREACHABLE,
            f"{spec.artifact.uri}: cannot stage it in the temporary directory: {exc}",
            transient=True,
        ) from exc


Verifier = Callable[[ModelVersionSpec], VerifiedArtifact]
