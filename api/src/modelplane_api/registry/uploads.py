"""What an upload is and every check that can refuse it before anything is stored: the sizes,
the platform's one ONNX policy (`modelplane_onnx`), the signature the graph declares, and a
reference dataset's Parquet columns against the declared features. Used by `versions` (which
runs the checks first when it registers a file) and `from_run`; the router builds `Upload`s.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

import modelplane_onnx as onnx_policy
from modelplane_api.context import AppContext
from modelplane_api.errors import InvalidModel, PayloadTooLarge, UploadsBusy
from modelplane_api.registry.schemas import VersionOptions
from modelplane_crds.model_version import Signature, TensorSpec


@dataclass(frozen=True)
class Upload:
    """A file part of the form: spooled by the multipart parser (disk beyond 1 MiB)."""

    file: IO[bytes]
    size: int
    filename: str


@dataclass(frozen=True)
class RegistryConfig:
    """What the registry needs from settings."""

    max_upload_bytes: int
    limits: onnx_policy.Limits

    @classmethod
    def of(cls, ctx: AppContext) -> RegistryConfig:
        """From the app's settings."""
        settings = ctx.settings
        return cls(
            settings.max_upload_bytes,
            onnx_policy.Limits(settings.max_nodes, frozenset(settings.allowed_domains)),
        )


@dataclass(frozen=True)
class Submission:
    """What a registration was given: the model file and its options, a reference dataset."""

    model_file: Upload
    options: VersionOptions
    reference: Upload | None = None
    reference_sha256: str | None = None


@dataclass(frozen=True)
class SpecParts:
    """What the checks of an upload found: the signature and features to declare."""

    signature: Signature
    features: list[Any]


@asynccontextmanager
async def upload_slot(slots: asyncio.Semaphore, size: int) -> AsyncIterator[None]:
    """One of the process's upload slots for the duration of a check, or UploadsBusy (503 with
    `Retry-After`) at once when all are taken: memory is bounded per facade, not per request,
    and a client is told to come back instead of queueing behind large files."""
    if slots.locked():
        raise UploadsBusy(size)
    async with slots:
        yield


async def check(upload: Submission, config: RegistryConfig) -> SpecParts:
    """Every refusal that needs no storage: sizes, the ONNX policy, the reference's columns."""
    _check_size(upload.model_file, config, "model file")
    if upload.reference is not None:
        _check_size(upload.reference, config, "reference dataset")
    found = await asyncio.to_thread(_inspect, upload.model_file.file, config.limits)
    options = upload.options
    signature = options.signature or _graph_signature(found)
    features = options.features or []
    if upload.reference is not None:
        columns = set(await asyncio.to_thread(_parquet_columns, upload.reference.file))
        absent = sorted({f.name for f in features} - columns)
        if absent:
            raise InvalidModel(
                f"the reference dataset has no column for features {absent}",
                {"reason": "ReferenceMismatch", "columns": sorted(columns)[:100]},
            )
    return SpecParts(signature, list(features))


def _check_size(upload: Upload, config: RegistryConfig, what: str) -> None:
    if upload.size > config.max_upload_bytes:
        raise PayloadTooLarge(
            f"the {what} is {upload.size} bytes, more than the limit of "
            f"{config.max_upload_bytes} bytes",
            {"limit": config.max_upload_bytes, "size": upload.size},
        )


def _inspect(source: IO[bytes], limits: onnx_policy.Limits) -> onnx_policy.OnnxInspection:
    """The policy over the spooled file itself where it has one (Linux: `/proc/self/fd`), so
    the check never holds the bytes while onnxruntime loads its own copy; else over its bytes."""
    spooled = _spooled_path(source)
    try:
        if spooled is not None:
            return onnx_policy.inspect_file(spooled, limits)
        source.seek(0)
        return onnx_policy.inspect(source.read(), limits)
    except onnx_policy.ModelRefused as refused:
        raise InvalidModel(refused.message, {"reason": refused.reason}) from refused


def _spooled_path(source: IO[bytes]) -> Path | None:
    try:
        source.flush()
        path = Path(f"/proc/self/fd/{source.fileno()}")  # rolls a small spool over to its file
    except (OSError, io.UnsupportedOperation):
        return None
    return path if path.exists() else None


def _graph_signature(found: onnx_policy.OnnxInspection) -> Signature:
    def spec(tensor: onnx_policy.Tensor) -> TensorSpec:
        return TensorSpec(name=tensor.name, datatype=tensor.datatype, shape=list(tensor.shape))

    try:
        return Signature(
            inputs=[spec(t) for t in found.inputs], outputs=[spec(t) for t in found.outputs]
        )
    except ValidationError as exc:
        raise InvalidModel(
            "the graph's signature cannot be declared: " + exc.errors()[0]["msg"],
            {"reason": onnx_policy.SIGNATURE_MISMATCH},
        ) from exc


def _parquet_columns(source: IO[bytes]) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source.seek(0)
    try:
        schema = pq.read_schema(source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InvalidModel(
            f"the reference dataset is not a Parquet file: {exc}", {"reason": "NotParquet"}
        ) from exc
    return list(schema.names)
