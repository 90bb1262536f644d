"""Sampled payload logging for drift detection: request rows buffered, flushed to S3 as Parquet.

The request path only draws a random number and, for a sampled request, appends references to
its input and output arrays to an in-memory buffer (bounded by `max_buffered_rows`; when full,
the rows are dropped and counted, the request never waits). A background task flushes the
buffer when it holds `flush_rows` rows or every `flush_interval_s`, and once more on shutdown;
building the table and uploading run in a worker thread, off the event loop.
The object layout and columns are a contract with the drift engine: see docs/payload-logs.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelplane_crds.payload_logs import hour_partition, version_prefix
from modelplane_runtime.metrics import RuntimeMetrics
from modelplane_runtime.settings import FeatureSpec, RuntimeSettings

log = logging.getLogger("modelplane_runtime.payload_log")
Upload = Callable[[str, bytes], None]
"""Stores one object: `upload(key, body)`."""


@dataclass(slots=True, frozen=True)
class PayloadRecord:
    """One sampled request: `rows` rows along the batch dimension."""

    request_id: str
    ts_us: int
    rows: int
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]


def _as_float(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def _as_str(values: np.ndarray) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _column(values: np.ndarray, numeric: bool) -> pa.Array:
    if numeric:
        floats = _as_float(values)
        return pa.array(floats, type=pa.float64(), from_pandas=False)
    return pa.array(_as_str(values), type=pa.string())


class PayloadTableBuilder:
    """Turns buffered records into one Arrow table with the documented columns."""

    def __init__(
        self,
        model_name: str,
        model_version: str,
        variant: str,
        features: Sequence[FeatureSpec] | None,
        max_input_elements: int,
        max_output_elements: int,
    ) -> None:
        self.model_name = model_name
        self.model_version = model_version
        self.variant = variant
        self.features = features
        self.max_input_elements = max_input_elements
        self.max_output_elements = max_output_elements

    def _record_columns(self, record: PayloadRecord) -> dict[str, pa.Array]:
        columns: dict[str, pa.Array] = {}
        rows = record.rows
        if self.features is not None:
            for feature in self.features:
                flat = record.inputs[feature.input].reshape(rows, -1)
                index = feature.index or 0
                if index < flat.shape[1]:
                    columns[f"feature.{feature.name}"] = _column(
                        flat[:, index], feature.type == "numerical"
                    )
        else:
            for name, array in record.inputs.items():
                flat = array.reshape(rows, -1)[:, : self.max_input_elements]
                numeric = flat.dtype.kind in "biuf"
                for i in range(flat.shape[1]):
                    columns[f"input.{name}.{i}"] = _column(flat[:, i], numeric)
        for name, array in record.outputs.items():
            flat = array.reshape(rows, -1)[:, : self.max_output_elements]
            numeric = flat.dtype.kind in "biuf"
            for i in range(flat.shape[1]):
                columns[f"output.{name}.{i}"] = _column(flat[:, i], numeric)
        return columns

    def build(self, records: Sequence[PayloadRecord]) -> pa.Table:
        """One table, one row per batch row of every record."""
        tables = []
        for record in records:
            n = record.rows
            base = {
                "request_id": pa.array([record.request_id] * n, type=pa.string()),
                "ts": pa.array(
                    np.full(n, record.ts_us, dtype=np.int64), type=pa.timestamp("us", tz="UTC")
                ),
                "model_name": pa.array([self.model_name] * n, type=pa.string()),
                "model_version": pa.array([self.model_version] * n, type=pa.string()),
                "variant": pa.array([self.variant] * n, type=pa.string()),
            }
            tables.append(pa.table({**base, **self._record_columns(record)}))
        return pa.concat_tables(tables, promote_options="default").combine_chunks()


def object_key(namespace: str, deployment: str, variant: str, hour: datetime, now: datetime) -> str:
    """`<namespace>/<deployment>/<variant>/date=YYYY-MM-DD/hour=HH/<UTC stamp>-<uuid>.parquet`,
    the layout of `modelplane_crds.payload_logs` (the variant is the served ModelVersion)."""
    return (
        f"{version_prefix(namespace, deployment, variant)}{hour_partition(hour)}/"
        f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}.parquet"
    )


class PayloadLogger:
    """Samples requests into a bounded buffer and flushes it to object storage."""

    def __init__(
        self,
        settings: RuntimeSettings,
        metrics: RuntimeMetrics,
        upload: Upload | None,
        *,
        seed: int | None = None,
    ) -> None:
        self._rate = settings.payload_sample_rate if upload is not None else 0.0
        self._upload = upload
        self._metrics = metrics
        self._flush_rows = settings.payload_flush_rows
        self._interval = settings.payload_flush_interval_s
        self._max_rows = settings.payload_max_buffered_rows
        self._max_bytes = settings.payload_max_buffered_bytes
        self._bytes = 0
        self._layout = (
            settings.payload_namespace,
            settings.payload_deployment,
            settings.payload_variant,
        )
        self._builder = PayloadTableBuilder(
            settings.model_name,
            settings.model_version,
            settings.payload_variant,
            settings.feature_schema,
            settings.payload_max_input_elements,
            settings.payload_max_output_elements,
        )
        self._random = random.Random(seed)  # noqa: S311 - sampling, not security
        self._records: list[PayloadRecord] = []
        self._rows = 0
        self._flush_now = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        """Whether any request can be sampled."""
        return self._rate > 0.0

    def sampled(self) -> bool:
        """Decide whether this request is logged."""
        return self._rate > 0.0 and (self._rate >= 1.0 or self._random.random() < self._rate)

    def record(
        self,
        request_id: str,
        inputs: dict[str, np.ndarray],
        outputs: dict[str, np.ndarray],
        rows: int,
    ) -> None:
        """Buffer one sampled request; drop and count it when the buffer is full."""
        size = sum(a.nbytes for a in inputs.values()) + sum(a.nbytes for a in outputs.values())
        if self._rows + rows > self._max_rows or self._bytes + size > self._max_bytes:
            self._metrics.count_payload_rows("dropped_full", rows)
            self._flush_now.set()
            return
        self._records.append(
            PayloadRecord(request_id, time.time_ns() // 1000, rows, inputs, outputs)
        )
        self._rows += rows
        self._bytes += size
        if self._rows >= self._flush_rows:
            self._flush_now.set()

    def start(self) -> None:
        """Start the background flusher (needs a running event loop)."""
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flush_now.wait(), self._interval)
            self._flush_now.clear()
            await self.flush()
            if self._stopping and not self._records:
                return

    async def flush(self) -> None:
        """Write everything buffered so far (in a worker thread)."""
        if not self._records:
            return
        records, self._records, self._rows, self._bytes = self._records, [], 0, 0
        await asyncio.to_thread(self._write, records)

    def _write(self, records: list[PayloadRecord]) -> None:
        by_hour: dict[datetime, list[PayloadRecord]] = {}
        for record in records:
            stamp = datetime.fromtimestamp(record.ts_us / 1e6, tz=UTC)
            by_hour.setdefault(stamp.replace(minute=0, second=0, microsecond=0), []).append(record)
        for hour, group in by_hour.items():
            rows = sum(r.rows for r in group)
            try:
                body = self.to_parquet(group)
                key = object_key(*self._layout, hour, datetime.now(UTC))
                assert self._upload is not None
                self._upload(key, body)
            except Exception:  # any storage failure: count and log, never crash the server
                log.exception("payload log upload failed", extra={"rows": rows})
                self._metrics.count_payload_rows("dropped_error", rows)
            else:
                self._metrics.count_payload_rows("written", rows)

    def to_parquet(self, records: Sequence[PayloadRecord]) -> bytes:
        """The Parquet bytes of the records."""
        sink = io.BytesIO()
        pq.write_table(self._builder.build(records), sink, compression="snappy")
        return sink.getvalue()

    async def close(self) -> None:
        """Flush what is buffered and stop the flusher."""
        self._stopping = True
        self._flush_now.set()
        if self._task is not None:
            await self._task
        else:
            await self.flush()


def s3_upload(client: Any, bucket: str) -> Upload:
    """An `Upload` that puts objects into `bucket` with a boto3 client."""

    def upload(key: str, body: bytes) -> None:
        client.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/vnd.apache.parquet"
        )

    return upload
