"""Reading payload logs from the real S3 server: window, profile cache, and what a serving
runtime's payload logger really uploaded."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelplane_crds.drift_results import DriftEvaluation
from modelplane_operator.drift import main
from modelplane_runtime.app import default_upload
from modelplane_runtime.settings import RuntimeSettings
from tests.onnx_models import mixed_input_model, signature_of, write_model
from tests.operator.drift.helpers import START, feature_table
from tests.runtime.conftest import open_client


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


async def test_the_drift_job_reads_the_window_a_serving_runtime_logged_to_s3(
    s3_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The runtime's own app serves requests and its payload logger uploads to the real S3
    # server; the job then finds those objects by the layout alone.
    model = mixed_input_model()
    path, digest = write_model(model, tmp_path / "model.onnx")
    bucket = s3_env.bucket
    settings = RuntimeSettings(
        model_name="fraud",
        model_version="1",
        model_uri=path.as_uri(),
        model_sha256=digest,
        signature=signature_of(model),
        cache_dir=tmp_path / "cache",
        payload_sample_rate=1.0,
        payload_bucket=bucket,
        payload_namespace="team-b",
        payload_deployment="fraud",
        payload_variant="stable",
        feature_schema=[
            {"name": "amount", "type": "numerical", "input": "amount", "index": 0},
            {"name": "color", "type": "categorical", "input": "color", "index": 0},
        ],
        s3_endpoint_url=s3_env.endpoint_url,
        s3_access_key_id=s3_env.access_key,
        s3_secret_access_key=s3_env.secret_key,
        s3_region=s3_env.region,
    )
    rng = np.random.default_rng(3)
    start = datetime.now(UTC) - timedelta(minutes=1)
    app, client = await open_client(settings, default_upload(settings))
    async with client:
        for i in range(60):
            body = {
                "id": f"req-{i}",
                "inputs": [
                    {
                        "name": "amount",
                        "datatype": "FP32",
                        "shape": [5, 2],
                        "data": rng.normal(3.0, 1.0, 10).tolist(),  # shifted: drift
                    },
                    {"name": "count", "datatype": "INT64", "shape": [5, 1], "data": [1] * 5},
                    {
                        "name": "color",
                        "datatype": "BYTES",
                        "shape": [5, 1],
                        "data": rng.choice(["red", "blue"], 5).tolist(),
                    },
                ],
            }
            answer = await client.post("/v2/models/fraud/infer", json=body)
            assert answer.status_code == 200, answer.text
    assert app.on_shutdown is not None
    await app.on_shutdown()  # flushes the buffer to S3
    end = datetime.now(UTC) + timedelta(minutes=1)
    _put_table(
        s3_env.client(),
        bucket,
        "datasets/runtime-reference.parquet",
        pa.table(
            {
                "amount": rng.normal(0, 1, 2000),
                "color": rng.choice(np.array(["red", "blue"]), 2000),
                "output.score.0": rng.normal(0, 1, 2000),
            }
        ),
    )
    spec = json.dumps(
        {
            "features": [{"name": "amount"}, {"name": "color", "kind": "categorical"}],
            "outputs": [{"name": "score.0"}],
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
            start.isoformat(),
            "--end",
            end.isoformat(),
        ]
    )
    assert code == 0
    evaluation = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    assert evaluation.samples == 300
    assert {r.feature: (r.samples, r.drifted) for r in evaluation.features} == {
        "amount": (300, True),
        "color": (300, False),
    }
    assert [r.feature for r in evaluation.prediction_drift] == ["score.0"]
