"""Fetch a model artifact and prove it is what the ModelVersion says, without running it.

Called by the ModelVersion reconcile (in a worker thread). The steps, each with its own stable
reason when it fails:

1. fetch from `s3://`, `https://`, `file://` (under a configured root only) or an MLflow
   `models:/<name>/<version>[/<path>]` URI, streaming and stopping at the size limit
   (`ArtifactTooLarge`); unreachable sources are `ArtifactUnreachable`, transient (retry) or
   permanent (missing object, refused access);
2. sha256 of the bytes against the declared digest (`DigestMismatch`);
3. parse as ONNX protobuf (`NotOnnx`), then refuse what security.md lists as dangerous: external
   data (the path-traversal CVE family), operator domains outside the allow-list (custom ops),
   oversized graphs (`InvalidModel`);
4. open with onnxruntime from bytes, all optimizations off, nothing executed (`InvalidModel`);
5. compare the declared signature with the session's inputs and outputs (`SignatureMismatch`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from modelplane_crds.model_version import (
    ARTIFACT_TOO_LARGE,
    ARTIFACT_UNREACHABLE,
    DIGEST_MISMATCH,
    INVALID_MODEL,
    NOT_ONNX,
    SIGNATURE_MISMATCH,
    ModelVersionSpec,
    TensorSpec,
)

CHUNK = 1024 * 1024

ORT_TYPES = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(float16)": "FP16",
    "tensor(int64)": "INT64",
    "tensor(int32)": "INT32",
    "tensor(int16)": "INT16",
    "tensor(int8)": "INT8",
    "tensor(uint64)": "UINT64",
    "tensor(uint32)": "UINT32",
    "tensor(uint16)": "UINT16",
    "tensor(uint8)": "UINT8",
    "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}


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
class VerifyLimits:
    """Platform-wide limits that apply whatever a ModelVersion says."""

    max_bytes: int = 100 * 1024**2
    max_nodes: int = 100_000
    allowed_domains: frozenset[str] = field(
        default_factory=lambda: frozenset({"", "ai.onnx", "ai.onnx.ml"})
    )


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
            import boto3
            from botocore.config import Config

            cfg = self._s3_config
            self._s3 = boto3.client(
                "s3",
                endpoint_url=cfg.endpoint_url,
                aws_access_key_id=cfg.access_key,
                aws_secret_access_key=cfg.secret_key,
                region_name=cfg.region,
                config=Config(
                    connect_timeout=5,
                    read_timeout=self._timeout_s,
                    retries={"max_attempts": 2, "mode": "standard"},
                    s3={"addressing_style": "path"},
                ),
            )
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


def verify_bytes(data: bytes, spec: ModelVersionSpec, limits: VerifyLimits) -> VerifiedArtifact:
    """Check digest, ONNX safety rules, that onnxruntime opens it, and the signature."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.artifact.sha256:
        raise ArtifactProblem(
            DIGEST_MISMATCH,
            f"artifact sha256 is {digest}, the ModelVersion declares {spec.artifact.sha256}",
        )
    model = _parse_onnx(data)
    _check_model_safety(model, limits)
    inputs, outputs = _open_session(data)
    problems = signature_problems(spec.signature.inputs, spec.signature.outputs, inputs, outputs)
    if problems:
        raise ArtifactProblem(SIGNATURE_MISMATCH, "; ".join(problems))
    return VerifiedArtifact(sha256=digest, size_bytes=len(data))


def verify_artifact(
    fetcher: ArtifactFetcher, spec: ModelVersionSpec, limits: VerifyLimits
) -> VerifiedArtifact:
    """Fetch (capped at the smaller of the spec's and the platform's limit) and verify."""
    limit = min(spec.artifact.max_size_bytes, limits.max_bytes)
    return verify_bytes(fetcher.fetch(spec.artifact.uri, limit), spec, limits)


def _parse_onnx(data: bytes) -> Any:
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        model = onnx.ModelProto.FromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ArtifactProblem(NOT_ONNX, f"the artifact is not an ONNX model: {exc}") from exc
    if model.ir_version <= 0 or not model.HasField("graph") or not model.opset_import:
        raise ArtifactProblem(
            NOT_ONNX, "the artifact is not an ONNX model (no IR version, graph or opset)"
        )
    return model


def _graphs(graph: Any) -> Iterator[Any]:
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def _tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors


def _check_model_safety(model: Any, limits: VerifyLimits) -> None:
    import onnx

    graphs = list(_graphs(model.graph))
    nodes = [node for graph in graphs for node in graph.node]
    nodes += [node for function in model.functions for node in function.node]
    if len(nodes) > limits.max_nodes:
        raise ArtifactProblem(
            INVALID_MODEL, f"the graph has {len(nodes)} nodes, more than {limits.max_nodes}"
        )
    external = [
        tensor.name or "(unnamed)"
        for graph in graphs
        for tensor in _tensors(graph)
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data) > 0
    ]
    if external:
        raise ArtifactProblem(
            INVALID_MODEL,
            "tensors with external data are refused (embed the weights in the file): "
            + ", ".join(sorted(external)[:5]),
        )
    domains = {opset.domain for opset in model.opset_import} | {node.domain for node in nodes}
    custom = sorted(domains - limits.allowed_domains)
    if custom:
        raise ArtifactProblem(
            INVALID_MODEL, "custom operator domains are refused: " + ", ".join(custom)
        )


def _open_session(data: bytes) -> tuple[list[TensorSpec | str], list[TensorSpec | str]]:
    """Open with onnxruntime (no run) and describe its inputs and outputs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # One session per verification, dropped right after: an arena would only keep memory.
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on a bad graph
        raise ArtifactProblem(INVALID_MODEL, f"onnxruntime cannot load the model: {exc}") from exc
    return [_describe(i) for i in session.get_inputs()], [
        _describe(o) for o in session.get_outputs()
    ]


def _describe(arg: Any) -> TensorSpec | str:
    datatype = ORT_TYPES.get(arg.type)
    if datatype is None:
        return f"{arg.name} ({arg.type})"
    shape = [d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape]
    return TensorSpec(name=arg.name, datatype=datatype, shape=shape)


def _compare(
    kind: str, declared: Sequence[TensorSpec], actual: Sequence[TensorSpec | str], exact: bool
) -> list[str]:
    problems: list[str] = []
    by_name: dict[str, TensorSpec | str] = {
        (a if isinstance(a, str) else a.name).split(" ", 1)[0]: a for a in actual
    }
    for spec in declared:
        found = by_name.get(spec.name)
        if found is None:
            problems.append(f"{kind} {spec.name!r} is not in the model (it has {sorted(by_name)})")
        elif isinstance(found, str):
            problems.append(f"{kind} {found} is not a tensor")
        else:
            if found.datatype != spec.datatype:
                problems.append(
                    f"{kind} {spec.name!r} is {found.datatype} in the model, declared"
                    f" {spec.datatype}"
                )
            if not _shape_matches(spec.shape, found.shape):
                problems.append(
                    f"{kind} {spec.name!r} has shape {found.shape} in the model, declared"
                    f" {spec.shape}"
                )
    if exact:
        names = {s.name for s in declared}
        for extra in sorted(set(by_name) - names):
            problems.append(f"model {kind} {extra!r} is not declared in the signature")
    return problems


def _shape_matches(declared: Sequence[int], actual: Sequence[int]) -> bool:
    if len(declared) != len(actual):
        return False
    return all(d in (-1, a) or a == -1 for d, a in zip(declared, actual, strict=True))


def signature_problems(
    inputs: Sequence[TensorSpec],
    outputs: Sequence[TensorSpec],
    actual_inputs: Sequence[TensorSpec | str],
    actual_outputs: Sequence[TensorSpec | str],
) -> list[str]:
    """Differences between the declared signature and the graph: inputs must match exactly,
    declared outputs must exist with the declared type and shape."""
    return _compare("input", inputs, actual_inputs, exact=True) + _compare(
        "output", outputs, actual_outputs, exact=False
    )


Verifier = Callable[[ModelVersionSpec], VerifiedArtifact]
