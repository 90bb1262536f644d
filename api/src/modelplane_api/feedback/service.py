"""Ground-truth feedback, stored as Parquet next to the deployment's payload logs:

    s3://<bucket>/<namespace>/<deployment>/_feedback/date=YYYY-MM-DD/hour=HH/<sha256>.parquet

The bucket is the deployment's `payloadLogging.uri` bucket, else the facade's
`PAYLOAD_BUCKET` (keep it equal to the operator's). `_feedback` cannot collide with a variant
(a ModelVersion name has no underscore). One file per hour of `observed_at` a call covers; its
name is the digest of its rows, so a retried call rewrites the same objects instead of adding
rows twice. A call is checked whole before anything is written: one bad row refuses the call
(422 naming every bad row). Readers keep the newest row per request id.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import ClusterGateway
from modelplane_api.errors import BadRequest, InvalidRows, NotFound
from modelplane_api.feedback.schemas import (
    FeedbackBatch,
    FeedbackPublic,
    FeedbackRow,
    FeedbackWritten,
)
from modelplane_api.payload_logs.service import locate
from modelplane_api.storage import PayloadStore
from modelplane_crds.payload_logs import FEEDBACK_DIR, hour_partition, partition_hour

MAX_FILES = 500
"""Files one read may open; a wider read answers 400 (narrow it with `since`)."""
MAX_LISTED = 20_000
SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("label", pa.string()),
        ("value", pa.float64()),
        ("received_at", pa.timestamp("us", tz="UTC")),
    ]
)


async def location(
    gateway: ClusterGateway, namespace: str, name: str, default_bucket: str | None
) -> tuple[str, str]:
    """(bucket, key prefix) of the deployment's feedback; 404 without the deployment, 409
    without a bucket."""
    where = await locate(gateway, namespace, name, default_bucket)
    return where.bucket, f"{where.prefix}{FEEDBACK_DIR}/"


def check_rows(rows: list[FeedbackRow]) -> None:
    """400 naming every row whose request id an earlier row of the call gave (which would win
    is ambiguous); the schema has checked each row (422)."""
    bad: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row.request_id in first:
            problem = f"request id given again (row {first[row.request_id]})"
            bad.append({"index": index, "request_id": row.request_id, "problem": problem})
        first.setdefault(row.request_id, index)
    if bad:
        raise InvalidRows(
            f"{len(bad)} of {len(rows)} rows cannot be stored; nothing was written",
            {"rows": bad[:100], "bad_rows": len(bad)},
        )


def _parquet(rows: list[FeedbackRow], received_at: datetime) -> bytes:
    table = pa.Table.from_pylist(
        [
            {
                "request_id": r.request_id,
                "observed_at": r.observed_at.astimezone(UTC),
                "label": getattr(r, "label", None),
                "value": getattr(r, "value", None),
                "received_at": received_at,
            }
            for r in rows
        ],
        schema=SCHEMA,
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def _digest(rows: list[FeedbackRow]) -> str:
    canonical = [
        [r.request_id, getattr(r, "label", None), getattr(r, "value", None),
         r.observed_at.astimezone(UTC).isoformat()]
        for r in rows
    ]  # fmt: skip
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()[:40]


async def write_feedback(
    gateway: ClusterGateway,
    payloads: PayloadStore,
    namespace: str,
    name: str,
    default_bucket: str | None,
    batch: FeedbackBatch,
    now: datetime,
    audit: AuditContext,
) -> FeedbackWritten:
    """Check every row, then write one Parquet file per hour of `observed_at`."""
    check_rows(batch.rows)
    bucket, prefix = await location(gateway, namespace, name, default_bucket)
    by_hour: dict[str, list[FeedbackRow]] = defaultdict(list)
    for row in batch.rows:
        by_hour[hour_partition(row.observed_at)].append(row)
    written = []
    for partition, rows in sorted(by_hour.items()):
        key = f"{prefix}{partition}/{_digest(rows)}.parquet"
        await payloads.put_bytes(bucket, key, _parquet(rows, now))
        written.append(f"s3://{bucket}/{key}")
    audit.resource_id = name
    audit.after = {"rows": len(batch.rows), "files": written}
    return FeedbackWritten(rows=len(batch.rows), files=written)


async def read_feedback(
    gateway: ClusterGateway,
    payloads: PayloadStore,
    namespace: str,
    name: str,
    default_bucket: str | None,
    request_ids: list[str],
    since: datetime,
) -> list[FeedbackPublic]:
    """The newest feedback row of each asked request id, from the hours since `since`."""
    bucket, prefix = await location(gateway, namespace, name, default_bucket)
    try:
        listed = await payloads.objects(bucket, prefix, MAX_LISTED)
    except NotFound:
        return []
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    keys = [o.key for o in listed if (hour := partition_hour(o.key)) is not None and hour >= start]
    if len(keys) > MAX_FILES:
        raise BadRequest(
            f"{len(keys)} feedback files since {since.isoformat()}: more than {MAX_FILES}; "
            "narrow the read with a later `since`",
            {"files": len(keys)},
        )
    wanted = set(request_ids)
    newest: dict[str, dict[str, Any]] = {}
    for key in keys:
        table = pq.read_table(io.BytesIO(await payloads.get_bytes(bucket, key)))
        for row in table.to_pylist():
            if row["request_id"] in wanted:
                kept = newest.get(row["request_id"])
                if kept is None or row["received_at"] >= kept["received_at"]:
                    newest[row["request_id"]] = row
    return [FeedbackPublic.model_validate(newest[r]) for r in sorted(newest)]
