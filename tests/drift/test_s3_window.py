"""Reading payload logs from the real S3 server: window, profile cache and the runtime's writer."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelplane_crds.drift_results import DriftEvaluation
from modelplane_operator.drift import main
from tests.drift.helpers import START, feature_table


@pytest.fixture
def s3_env(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The job's standard AWS environment pointed at the test S3 server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key)
    monkeypatch.setenv("AWS_REGION", s3.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint_url)
    return s3


def _put_table(client: Any, bucket: str, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    client.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())


def _columns(seed: int, n: int, loc: float = 0.0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "feature.amount": rng.normal(loc, 1.0, n),
        "feature.country": rng.choice(np.array(["de", "fr", "us"]), n),
        "output.probability.0": rng.uniform(0, 1, n),
    }


def test_a_window_of_payload_logs_in_s3_is_evaluated_and_the_profile_cached_there(
    s3_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client, bucket = s3_env.client(), s3_env.bucket
    _put_table(client, bucket, "datasets/fraud/reference.parquet", feature_table(_columns(0, 4000)))
    for h in range(2):
        hour = START + timedelta(hours=h)
        for part in range(3):
            table = feature_table(_columns(10 * h + part, 400, loc=1.5 if h else 0.0), start=hour)
            key = (
                f"team-a/fraud/stable/date={hour:%Y-%m-%d}/hour={hour:%H}/"
                f"{hour:%Y%m%dT%H}0000Z-{part}.parquet"
            )
            _put_table(client, bucket, key, table)
    common = [
        "--reference",
        f"s3://{bucket}/datasets/fraud/reference.parquet",
        "--window",
        f"s3://{bucket}/team-a/fraud/stable",
        "--profile-cache",
        f"s3://{bucket}/team-a/drift-profiles",
    ]

    assert main([*common, "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T11:00:00Z"]) == 0
    calm = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    assert main([*common, "--start", "2026-11-20T11:00:00Z", "--end", "2026-11-20T12:00:00Z"]) == 0
    drifted = DriftEvaluation.model_validate_json(capsys.readouterr().out)

    assert calm.samples == 1200
    assert drifted.samples == 1200
    assert not any(r.drifted for r in calm.features)
    assert {r.feature: r.drifted for r in drifted.features} == {"amount": True, "country": False}
    listing = client.list_objects_v2(Bucket=bucket, Prefix="team-a/drift-profiles/")
    assert [o["Key"].endswith(".npz") for o in listing.get("Contents", [])] == [True]


def test_logs_written_by_the_serving_runtime_are_read_by_the_drift_job(
    s3_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    payload_log = pytest.importorskip("modelplane_runtime.payload_log")
    settings = pytest.importorskip("modelplane_runtime.settings")
    features = [
        settings.FeatureSpec(name="amount", type="numerical", input="x", index=0),
        settings.FeatureSpec(name="country", type="categorical", input="c", index=0),
    ]
    builder = payload_log.PayloadTableBuilder("fraud", "1", "stable", features, 64, 64)
    rng = np.random.default_rng(3)
    stamp_us = int((START + timedelta(minutes=5)).timestamp() * 1_000_000)
    records = [
        payload_log.PayloadRecord(
            request_id=f"req-{i}",
            ts_us=stamp_us + i * 1_000_000,
            rows=5,
            inputs={
                "x": rng.normal(0, 1, (5, 2)).astype(np.float32),
                "c": rng.choice(np.array(["de", "fr"]), (5, 1)),
            },
            outputs={"probability": rng.uniform(0, 1, (5, 1)).astype(np.float32)},
        )
        for i in range(100)
    ]
    table = builder.build(records)
    client, bucket = s3_env.client(), s3_env.bucket
    key = payload_log.object_key("team-b", "fraud", "stable", START, START)
    _put_table(client, bucket, key, table)
    _put_table(
        client,
        bucket,
        "datasets/runtime-reference.parquet",
        pa.table(
            {
                "amount": rng.normal(0, 1, 2000),
                "country": rng.choice(np.array(["de", "fr"]), 2000),
                "output.probability.0": rng.uniform(0, 1, 2000),
            }
        ),
    )
    spec = json.dumps(
        {
            "features": [{"name": "amount"}, {"name": "country", "kind": "categorical"}],
            "outputs": [{"name": "probability.0"}],
        }
    )
    code = main(
        [
            "--reference",
            f"s3://{bucket}/datasets/runtime-reference.parquet",
            "--window",
            f"s3://{bucket}/team-b/fraud/stable",
            "--features",
            spec,
            "--start",
            "2026-11-20T10:00:00Z",
            "--end",
            "2026-11-20T11:00:00Z",
        ]
    )
    assert code == 0
    evaluation = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    assert evaluation.samples == 500
    assert [(r.feature, r.samples) for r in evaluation.features] == [
        ("amount", 500),
        ("country", 500),
    ]
    assert [r.feature for r in evaluation.prediction_drift] == ["probability.0"]
