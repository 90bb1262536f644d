"""Read payload logs and reference data from S3 (or a local path) as bounded record batches.

The serving runtime writes payload logs under
`<bucket>/<namespace>/<deployment>/<model version>/date=YYYY-MM-DD/hour=HH/*.parquet`
(`modelplane_crds.payload_logs`). A window is read
by listing only the hour partitions it overlaps, opening each file with only the columns the
monitor needs (plus `ts` to trim partial hours), and yielding record batches of at most a fixed
size, so memory does not grow with the window.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from modelplane_crds.payload_logs import hour_partition

BATCH_ROWS = 65_536
TS_COLUMN = "ts"


def filesystem_for(uri: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and path for `s3://bucket/key` or a local path.

    S3 settings come from the standard environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN (temporary credentials, as the operator mints for a DriftMonitor's job),
    AWS_REGION (default us-east-1) and AWS_ENDPOINT_URL for an S3-compatible server.
    """
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        options: dict[str, object] = {
            "region": os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1",
        }
        if os.environ.get("AWS_ACCESS_KEY_ID"):
            options["access_key"] = os.environ["AWS_ACCESS_KEY_ID"]
            options["secret_key"] = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
            if os.environ.get("AWS_SESSION_TOKEN"):
                options["session_token"] = os.environ["AWS_SESSION_TOKEN"]
        if endpoint:
            ep = urlparse(endpoint)
            options["endpoint_override"] = ep.netloc or ep.path
            options["scheme"] = ep.scheme or "https"
        return pafs.S3FileSystem(**options), f"{parsed.netloc}/{parsed.path.lstrip('/')}".rstrip(
            "/"
        )
    if parsed.scheme in ("", "file"):
        return pafs.LocalFileSystem(), os.path.abspath(parsed.path if parsed.scheme else uri)
    raise ValueError(f"unsupported location {uri!r}: use s3://bucket/key or a local path")


def parquet_files(fs: pafs.FileSystem, path: str) -> list[str]:
    """The Parquet files at `path`: the file itself, or every `*.parquet` below a prefix."""
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        return [path]
    if info.type == pafs.FileType.NotFound:
        return []
    selector = pafs.FileSelector(path, recursive=True, allow_not_found=True)
    return sorted(i.path for i in fs.get_file_info(selector) if i.path.endswith(".parquet"))


def content_digest(fs: pafs.FileSystem, path: str) -> str:
    """A digest of a reference's file listing (paths, sizes, modification times).

    Used as the profile cache key when the caller does not supply the ModelVersion's digest.
    """
    h = hashlib.sha256()
    for file in parquet_files(fs, path):
        info = fs.get_file_info(file)
        h.update(f"{file}\0{info.size}\0{info.mtime_ns}\n".encode())
    return "sha256:" + h.hexdigest()


def window_files(fs: pafs.FileSystem, base: str, start: datetime, end: datetime) -> list[str]:
    """Parquet files of the hour partitions that overlap [start, end)."""
    if end <= start:
        raise ValueError(f"window end {end.isoformat()} is not after start {start.isoformat()}")
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    files: list[str] = []
    while hour < end:
        partition = f"{base.rstrip('/')}/{hour_partition(hour)}"
        files.extend(parquet_files(fs, partition))
        hour += timedelta(hours=1)
    return files


def iter_batches(
    fs: pafs.FileSystem,
    files: list[str],
    columns: list[str],
    start: datetime | None = None,
    end: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Record batches of the wanted columns, rows with `ts` in [start, end) when bounds given."""
    for file in files:
        with fs.open_input_file(file) as handle:
            parquet = pq.ParquetFile(handle)
            names = set(parquet.schema_arrow.names)
            wanted = [c for c in columns if c in names]
            bounded = start is not None and end is not None and TS_COLUMN in names
            read = [*wanted, TS_COLUMN] if bounded and TS_COLUMN not in wanted else wanted
            if not read:
                continue
            for group in _row_group_runs(parquet, batch_rows):
                table = parquet.read_row_groups(group, columns=read)
                if bounded and start is not None and end is not None:
                    ts = table.column(TS_COLUMN)
                    lo, hi = _bound(start, ts.type), _bound(end, ts.type)
                    extremes = pc.min_max(ts)
                    inside = extremes["min"].is_valid and (
                        extremes["min"].value >= lo.value and extremes["max"].value < hi.value
                    )
                    if not inside:  # filtering copies the table: only when it drops rows
                        table = table.filter(pc.and_(pc.greater_equal(ts, lo), pc.less(ts, hi)))
                for batch in table.combine_chunks().to_batches(max_chunksize=batch_rows):
                    if batch.num_rows:
                        yield batch


def _row_group_runs(parquet: pq.ParquetFile, batch_rows: int) -> Iterator[list[int]]:
    """Consecutive row groups, about `batch_rows` rows per run (one large group is its own run).

    Reading whole row groups costs about half the memory of pyarrow's batch iterator (which
    decodes a row group and then copies batches out of it), and joining the runtime's small row
    groups keeps the per-batch overhead low. Peak memory is about one run (or one row group,
    when larger) of the wanted columns, whatever the number of files.
    """
    run: list[int] = []
    rows = 0
    for index in range(parquet.metadata.num_row_groups):
        run.append(index)
        rows += parquet.metadata.row_group(index).num_rows
        if rows >= batch_rows:
            yield run
            run, rows = [], 0
    if run:
        yield run


def _bound(moment: datetime, ts_type: pa.DataType) -> pa.Scalar:
    """A window bound as a scalar comparable with the `ts` column (tz-aware or naive UTC)."""
    if not pa.types.is_timestamp(ts_type):
        raise ValueError(f"column {TS_COLUMN!r} must be a timestamp, not {ts_type}")
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if ts_type.tz is None:
        return pa.scalar(utc.replace(tzinfo=None), type=ts_type)
    return pa.scalar(utc, type=ts_type)
