"""Live quality against the real S3 server: payload logs of two versions and the facade's
feedback Parquet in the documented layouts, scored per version by `evaluate_quality`."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn import metrics as skm

from modelplane_api.feedback.service import SCHEMA as FEEDBACK_SCHEMA
from modelplane_crds.payload_logs import FEEDBACK_DIR, hour_partition, version_prefix
from modelplane_crds.quality import QualitySpec
from modelplane_operator.drift.quality import evaluate_quality

START = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = START + timedelta(hours=1)
NOW = END + timedelta(hours=4)
N = 120
LATE_BEYOND_DELAY = 110
"""Requests from this index on are labelled 3 hours after the window: past `labelDelay`."""
SPEC = QualitySpec.model_validate(
    {
        "task": "classification",
        "prediction": "output.label.0",
        "score": "output.probability.1",
        "metrics": [{"metric": "accuracy", "min": 0.85}, {"metric": "auc", "min": 0.5}],
        "minLabelledRows": 50,
        "labelDelay": "2h",
    }
)


def _put(client: Any, bucket: str, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    client.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())


def _truth() -> np.ndarray:
    return np.arange(N) % 2


def _predictions(version: str) -> np.ndarray:
    flip = np.arange(N) % (10 if version == "fraud-1" else 3) == 0
    return np.where(flip, 1 - _truth(), _truth())


def _payload_logs(version: str, at: datetime, offset: int = 0) -> pa.Table:
    predictions = _predictions(version)
    return pa.table(
        {
            "request_id": [f"{version}-{i + offset}" for i in range(N)],
            "ts": pa.array(
                [at + timedelta(seconds=30 * i) for i in range(N)], pa.timestamp("us", tz="UTC")
            ),
            "model_name": ["fraud"] * N,
            "model_version": [version[-1]] * N,
            "variant": [version] * N,
            "output.label.0": predictions.astype(np.float64),
            "output.probability.1": np.where(predictions == 1, 0.8, 0.2),
        }
    )


def _observed(i: int) -> datetime:
    if i >= LATE_BEYOND_DELAY:
        return END + timedelta(hours=3)
    return START + timedelta(seconds=30 * i, minutes=30)  # from i = 60 on, after the window


def _write_feedback(client: Any, bucket: str, prefix: str, version: str) -> None:
    """One file per hour of observed_at, as the facade writes; request 0 is labelled twice, the
    first (wrong) label superseded by a later call."""
    rows = [
        (f"{version}-{i}", str(t), _observed(i), NOW - timedelta(minutes=5))
        for i, t in enumerate(_truth())
    ]
    rows.append((f"{version}-0", "1", _observed(0), _observed(0)))  # older, wrong
    by_hour: dict[str, list[dict[str, Any]]] = {}
    for request_id, label, observed, received in rows:
        by_hour.setdefault(hour_partition(observed), []).append(
            {
                "request_id": request_id,
                "observed_at": observed,
                "label": label,
                "value": None,
                "received_at": received,
            }
        )
    for n, (hour, part) in enumerate(sorted(by_hour.items())):
        table = pa.Table.from_pylist(part, schema=FEEDBACK_SCHEMA)
        _put(client, bucket, f"{prefix}{FEEDBACK_DIR}/{hour}/{version}-{n}.parquet", table)


def test_quality_is_scored_per_version_from_late_labels_in_s3(aws_env: Any) -> None:
    client, bucket = aws_env.client(), aws_env.bucket
    deployment = "quality-s3/fraud/"
    for version in ("fraud-1", "fraud-2"):
        prefix = version_prefix("quality-s3", "fraud", version)
        _put(
            client,
            bucket,
            f"{prefix}{hour_partition(START)}/a.parquet",
            _payload_logs(version, START),
        )
        outside = _payload_logs(version, END + timedelta(minutes=10), offset=N)
        _put(client, bucket, f"{prefix}{hour_partition(END)}/b.parquet", outside)
        _write_feedback(client, bucket, deployment, version)

    results = {
        version: evaluate_quality(
            SPEC,
            f"s3://{bucket}/{version_prefix('quality-s3', 'fraud', version)}",
            f"s3://{bucket}/{deployment}{FEEDBACK_DIR}",
            START,
            END,
            NOW,
            model_version=version,
        )
        for version in ("fraud-1", "fraud-2")
    }

    scored = slice(0, LATE_BEYOND_DELAY)
    for version, evaluation in results.items():
        truth, predictions = _truth()[scored], _predictions(version)[scored]
        assert evaluation.labels_until == END + timedelta(hours=2)
        assert (evaluation.predictions, evaluation.labelled_rows) == (N, LATE_BEYOND_DELAY)
        assert evaluation.ambiguous_rows == 0
        assert evaluation.unmatched_feedback == 60  # the other version's labels of the window
        accuracy, auc = evaluation.metrics
        assert accuracy.value == skm.accuracy_score(truth, predictions)
        assert auc.value == skm.roc_auc_score(truth, np.where(predictions == 1, 0.8, 0.2))
    assert not results["fraud-1"].degraded
    assert results["fraud-2"].degraded
    assert [m.passed for m in results["fraud-2"].metrics] == [False, True]


def test_a_version_without_payload_logs_or_feedback_reports_insufficient_data(
    aws_env: Any,
) -> None:
    evaluation = evaluate_quality(
        SPEC,
        f"s3://{aws_env.bucket}/quality-s3/none/none-1",
        f"s3://{aws_env.bucket}/quality-s3/none/{FEEDBACK_DIR}",
        START,
        END,
        NOW,
    )
    assert evaluation.insufficient_data
    assert (evaluation.predictions, evaluation.labelled_rows, evaluation.metrics) == (0, 0, [])
