"""Reading payload logs from the real S3 server: window, profile cache, and what a serving
runtime configured by the operator's builders really uploaded, found by the job's arguments."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelplane_crds.drift_results import DriftEvaluation
from modelplane_crds.model_deployment import ModelDeploymentSpec
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_operator.builders.model_deployment import RuntimeConfig, serving_settings
from modelplane_operator.drift import main
from modelplane_operator.drift.monitor import arguments_from_specs, serving_stable_version
from modelplane_runtime.app import default_upload
from modelplane_runtime.settings import RuntimeSettings
from tests.onnx_models import mixed_input_model, signature_of, write_model
from tests.operator.drift.helpers import START, feature_table
from tests.runtime.conftest import open_client


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
    aws_env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client, bucket = aws_env.client(), aws_env.bucket
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
    aws_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The contract end to end: the runtime is configured exactly as the operator configures a
    # serving pod (`serving_settings`), its own app serves requests and its payload logger
    # uploads to the real S3 server; the job's arguments come from the same specs as the
    # CronJob's, with the serving stable version taken from the deployment's status.
    model = mixed_input_model()
    path, digest = write_model(model, tmp_path / "model.onnx")
    bucket = aws_env.bucket
    rng = np.random.default_rng(3)
    reference = io.BytesIO()
    pq.write_table(
        pa.table(
            {
                "amount": rng.normal(0, 1, 2000),
                "color": rng.choice(np.array(["red", "blue"]), 2000),
                "output.score.0": rng.normal(0, 1, 2000),
            }
        ),
        reference,
    )
    aws_env.client().put_object(
        Bucket=bucket, Key="datasets/runtime-reference.parquet", Body=reference.getvalue()
    )
    version = ModelVersionSpec.model_validate(
        {
            "modelName": "fraud",
            "version": "2",
            "artifact": {"uri": path.as_uri(), "sha256": digest},
            "signature": signature_of(model),
            "features": [
                {"name": "amount", "type": "numerical", "input": "amount", "index": 0},
                {"name": "color", "type": "categorical", "input": "color", "index": 0},
            ],
            "referenceDataset": {
                "uri": f"s3://{bucket}/datasets/runtime-reference.parquet",
                "sha256": hashlib.sha256(reference.getvalue()).hexdigest(),
            },
        }
    )
    deployment = ModelDeploymentSpec.model_validate(
        {"stable": {"modelVersionRef": {"name": "fraud-2"}}, "payloadLogging": {"sampleRate": 1}}
    )
    served = serving_settings(
        "fraud",
        "team-b",
        "fraud-2",
        version,
        deployment,
        RuntimeConfig(image="i", s3_endpoint_url=aws_env.endpoint_url, payload_bucket=bucket),
    )
    settings = RuntimeSettings(
        **{**served.model_dump(), "cache_dir": tmp_path / "cache", "host": "127.0.0.1"},
        s3_access_key_id=aws_env.access_key,
        s3_secret_access_key=aws_env.secret_key,
        s3_region=aws_env.region,
    )
    app, client = await open_client(settings, default_upload(settings))
    async with client:
        for i in range(60):
            answer = await client.post("/v2/models/fraud/infer", json=_shifted_request(rng, i))
            assert answer.status_code == 200, answer.text
    assert app.on_shutdown is not None
    await app.on_shutdown()  # flushes the buffer to S3
    promoted = {  # the spec already names the next version; the pods still serve fraud-2
        "spec": {"stable": {"modelVersionRef": {"name": "fraud-3"}}},
        "status": {"stableVersion": "fraud-2"},
    }
    monitor = {
        "window": {"type": "sliding", "size": "5m"},
        "minSamples": 100,
        "predictionDrift": {"enabled": True},
    }
    arguments = arguments_from_specs(
        "team-b",
        "fraud",
        monitor,
        deployment.model_dump(by_alias=True, exclude_none=True),
        version.model_dump(by_alias=True, exclude_none=True),
        datetime.now(UTC) + timedelta(minutes=1),
        version_name=serving_stable_version(promoted),
        default_bucket=bucket,
    )
    assert arguments["window"] == f"s3://{bucket}/team-b/fraud/fraud-2"
    assert main([f"--{k.replace('_', '-')}={v}" for k, v in arguments.items()]) == 0
    evaluation = DriftEvaluation.model_validate_json(capsys.readouterr().out)
    assert evaluation.window_end - evaluation.window_start == timedelta(minutes=5)
    assert evaluation.samples == 300
    assert {r.feature: (r.samples, r.drifted) for r in evaluation.features} == {
        "amount": (300, True),
        "color": (300, False),
    }
    assert [r.feature for r in evaluation.prediction_drift] == ["score.0"]


def _shifted_request(rng: np.random.Generator, i: int) -> dict[str, Any]:
    """Five rows of the mixed model's inputs with `amount` shifted by three deviations."""
    return {
        "id": f"req-{i}",
        "inputs": [
            {
                "name": "amount",
                "datatype": "FP32",
                "shape": [5, 2],
                "data": rng.normal(3.0, 1.0, 10).tolist(),
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
