"""Reading a deployment's payload logs: hour windows from the object listing, samples from the
Parquet files of a window.

Layout (written by the serving runtime, docs/payload-logs.md):

    s3://<bucket>/<namespace>/<deployment>/<version>/date=YYYY-MM-DD/hour=HH/<stamp>-<uuid>.parquet

(`modelplane_crds.payload_logs`; `<version>` is the ModelVersion the pod serves)

Each variant is listed from the day of `since` on (S3 `StartAfter`), so an old deployment's
history costs nothing. A sample reads at most `MAX_SAMPLE_FILES` files and `MAX_SAMPLE_BYTES`
compressed bytes (a wider window answers 400: narrow it); files that are not readable Parquet
are skipped and counted, never a 500. Rows of files written by different versions are joined by
column name (a column one file lacks is null in its rows).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from modelplane_api.cluster import MODEL_DEPLOYMENT, ClusterGateway
from modelplane_api.errors import BadRequest, Conflict, NotFound
from modelplane_api.payload_logs.schemas import PayloadWindow, PayloadWindows, SampleFormat
from modelplane_api.storage import ListedObject, PayloadStore
from modelplane_crds.payload_logs import FEEDBACK_DIR, deployment_prefix, partition_hour

MAX_LISTED = 20_000
"""Objects one listing of a variant reads."""
MAX_SAMPLE_FILES = 200
MAX_SAMPLE_BYTES = 64 * 1024 * 1024
"""Compressed bytes one sample may read (memory: a few times this while sampling)."""
FIXED_COLUMNS = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("variant", pa.string()),
    ]
)
MEDIA_TYPES = {SampleFormat.CSV: "text/csv; charset=utf-8",
               SampleFormat.PARQUET: "application/vnd.apache.parquet"}  # fmt: skip


@dataclass(frozen=True)
class PayloadLocation:
    """Where a deployment's payload logs and feedback live, and whether it logs at all."""

    bucket: str
    prefix: str
    """`<namespace>/<deployment>/`."""
    sample_rate: float | None
    """The spec's `payloadLogging.sampleRate`; None when the deployment does not log."""


@dataclass(frozen=True)
class Sample:
    """A downloadable sample of a window."""

    body: bytes
    media_type: str
    filename: str
    matched_rows: int
    """Rows of the window before sampling."""
    rows: int
    skipped_files: int


async def locate(
    gateway: ClusterGateway, namespace: str, name: str, default_bucket: str | None
) -> PayloadLocation:
    """The deployment's payload location: its `payloadLogging.uri` bucket, else the facade's
    `PAYLOAD_BUCKET`; 404 without the deployment, 409 without a bucket."""
    live = await gateway.get(MODEL_DEPLOYMENT, name, namespace)
    if live is None:
        raise NotFound("deployment not found")
    logging_ = (live.get("spec") or {}).get("payloadLogging") or {}
    uri = logging_.get("uri")
    bucket = str(uri).removeprefix("s3://").split("/", 1)[0] if uri else default_bucket
    if not bucket:
        raise Conflict(
            f"deployment {name!r} has no payload bucket: set spec.payloadLogging.uri, or the "
            "facade's PAYLOAD_BUCKET",
            {"reason": "NoPayloadBucket"},
        )
    rate = float(logging_.get("sampleRate", 1.0)) if logging_ else None
    return PayloadLocation(bucket, deployment_prefix(namespace, name), rate)


def _floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def _variants(
    payloads: PayloadStore, where: PayloadLocation, variant: str | None
) -> list[str]:
    if variant is not None:
        return [variant]
    try:
        found = await payloads.folders(where.bucket, where.prefix)
    except NotFound:
        return []
    return sorted(f for f in found if f != FEEDBACK_DIR)


async def _hour_objects(
    payloads: PayloadStore,
    where: PayloadLocation,
    variant: str,
    since: datetime,
    until: datetime,
) -> tuple[dict[datetime, list[ListedObject]], bool]:
    """The objects of `variant` by hour in [floor(since), until); whether the listing was cut."""
    prefix = f"{where.prefix}{variant}/"
    # Keys of earlier days sort before `date=<since's day>`: S3 skips them.
    start_after = f"{prefix}date={since.astimezone(UTC) - timedelta(days=1):%Y-%m-%d}/~"
    try:
        listed = await payloads.objects(where.bucket, prefix, MAX_LISTED, start_after)
    except NotFound:
        return {}, False
    by_hour: dict[datetime, list[ListedObject]] = defaultdict(list)
    first = _floor_hour(since)
    for item in listed:
        hour = partition_hour(item.key.removeprefix(prefix))
        if hour is not None and first <= hour < until and item.key.endswith(".parquet"):
            by_hour[hour].append(item)
    return by_hour, len(listed) >= MAX_LISTED


async def list_windows(
    gateway: ClusterGateway,
    payloads: PayloadStore,
    namespace: str,
    name: str,
    default_bucket: str | None,
    variant: str | None,
    since: datetime,
    until: datetime,
) -> PayloadWindows:
    """The hour windows of the deployment's payload logs in [since, until), newest first."""
    where = await locate(gateway, namespace, name, default_bucket)
    windows: list[PayloadWindow] = []
    truncated = False
    for each in await _variants(payloads, where, variant):
        by_hour, cut = await _hour_objects(payloads, where, each, since, until)
        truncated = truncated or cut
        windows.extend(
            PayloadWindow(
                variant=each,
                start=hour,
                end=hour + timedelta(hours=1),
                files=len(items),
                size_bytes=sum(i.size_bytes for i in items),
            )
            for hour, items in by_hour.items()
        )
    windows.sort(key=lambda w: (w.start, w.variant), reverse=True)
    return PayloadWindows(
        bucket=where.bucket,
        prefix=where.prefix,
        sample_rate=where.sample_rate,
        windows=windows,
        truncated=truncated,
    )


def _read(body: bytes) -> pa.Table | None:
    try:
        return pq.read_table(io.BytesIO(body))
    except (pa.ArrowException, OSError, ValueError):
        return None


def _encode(table: pa.Table, fmt: SampleFormat) -> bytes:
    sink = io.BytesIO()
    if fmt is SampleFormat.CSV:
        pcsv.write_csv(table, sink)
    else:
        pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


async def sample(
    gateway: ClusterGateway,
    payloads: PayloadStore,
    namespace: str,
    name: str,
    default_bucket: str | None,
    variant: str | None,
    start: datetime,
    end: datetime,
    rows: int,
    seed: int,
    fmt: SampleFormat,
) -> Sample:
    """Up to `rows` rows answered in [start, end), drawn uniformly (the same `seed` draws the
    same rows), in time order; every column the files have."""
    if end <= start:
        raise BadRequest("`end` must be after `start`", {"start": start.isoformat()})
    where = await locate(gateway, namespace, name, default_bucket)
    chosen: list[ListedObject] = []
    for each in await _variants(payloads, where, variant):
        by_hour, _ = await _hour_objects(payloads, where, each, start, end)
        chosen.extend(item for items in by_hour.values() for item in items)
    size = sum(item.size_bytes for item in chosen)
    if len(chosen) > MAX_SAMPLE_FILES or size > MAX_SAMPLE_BYTES:
        raise BadRequest(
            f"the window holds {len(chosen)} files ({size} bytes): more than one sample reads "
            f"({MAX_SAMPLE_FILES} files, {MAX_SAMPLE_BYTES} bytes); narrow `start`/`end` or "
            "name a `variant`",
            {"files": len(chosen), "size_bytes": size},
        )
    tables: list[pa.Table] = []
    skipped = 0
    for item in chosen:
        table = _read(await payloads.get_bytes(where.bucket, item.key))
        if table is None or "ts" not in table.column_names:
            skipped += 1
            continue
        tables.append(table)
    try:
        table = pa.concat_tables(
            [FIXED_COLUMNS.empty_table(), *tables], promote_options="permissive"
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise Conflict(
            "the window's files disagree on a column's type; download one variant at a time",
            {"reason": "IncompatibleColumns", "detail": str(exc)[:200]},
        ) from exc
    ts = table.column("ts").cast(pa.timestamp("us", tz="UTC"))
    inside = pc.and_(
        pc.greater_equal(ts, pa.scalar(start, ts.type)), pc.less(ts, pa.scalar(end, ts.type))
    )
    table = table.filter(inside).sort_by([("ts", "ascending"), ("request_id", "ascending")])
    matched = table.num_rows
    if matched > rows:
        picked = np.sort(np.random.default_rng(seed).choice(matched, size=rows, replace=False))
        table = table.take(pa.array(picked))
    stamp = f"{start.astimezone(UTC):%Y%m%dT%H%M}-{end.astimezone(UTC):%Y%m%dT%H%M}"
    return Sample(
        body=_encode(table, fmt),
        media_type=MEDIA_TYPES[fmt],
        filename=f"{name}-{variant or 'all'}-{stamp}.{fmt.value}",
        matched_rows=matched,
        rows=table.num_rows,
        skipped_files=skipped,
    )
