"""The real `python -m modelplane_runtime` process: refusing to start, serving, draining."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from modelplane_runtime.__main__ import EXIT_REFUSED
from tests.onnx_models import linear_model, mlp_model
from tests.runtime.conftest import REPO_ROOT, RuntimeProcess, SettingsFactory, settings_env


def _run_refused(env: dict[str, str]) -> tuple[int, list[str]]:
    result = subprocess.run(
        [sys.executable, "-m", "modelplane_runtime"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if line]
    return result.returncode, lines


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("MODELPLANE_RUNTIME_")}


def test_digest_mismatch_exits_non_zero_with_one_json_log_line(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(model_sha256="ab" * 32)
    code, lines = _run_refused({**_clean_env(), **settings_env(settings)})
    assert code == EXIT_REFUSED
    refusals = [line for line in lines if '"startup_refused"' in line]
    assert len(refusals) == 1, lines

    record = json.loads(refusals[0])
    assert record["reason"] == "DigestMismatch"
    assert record["level"] == "error"
    assert "ab" * 32 in record["error"]


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"MODELPLANE_RUNTIME_MODEL_URI": "file:///does/not/exist.onnx"}, "ArtifactUnreachable"),
        (
            {
                "MODELPLANE_RUNTIME_SIGNATURE": '{"inputs": [{"name": "x", "datatype": "FP32", '
                '"shape": [-1, 5]}], "outputs": [{"name": "y", "datatype": "FP32", '
                '"shape": [-1, 1]}]}'
            },
            "SignatureMismatch",
        ),
        ({"MODELPLANE_RUNTIME_SIGNATURE": "{not json"}, "InvalidConfiguration"),
        ({"MODELPLANE_RUNTIME_MAX_ARTIFACT_BYTES": "10"}, "ArtifactTooLarge"),
    ],
    ids=["missing", "signature", "bad-settings", "oversize"],
)
def test_unservable_configurations_refuse_to_start(
    make_settings: SettingsFactory, override: dict[str, str], reason: str
) -> None:
    env = {**_clean_env(), **settings_env(make_settings(linear_model(4))), **override}
    code, lines = _run_refused(env)
    assert code == EXIT_REFUSED
    assert any(f'"reason":"{reason}"' in line for line in lines), lines


def test_check_flag_verifies_and_exits_zero(make_settings: SettingsFactory) -> None:
    env = {**_clean_env(), **settings_env(make_settings())}
    result = subprocess.run(
        [sys.executable, "-m", "modelplane_runtime", "--check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"model_loaded"' in result.stderr


def _body(i: int) -> dict[str, object]:
    return {
        "id": f"r{i}",
        "inputs": [
            {"name": "x", "datatype": "FP32", "shape": [1, 20], "data": [float(i % 7)] * 20}
        ],
    }


def send_until_stopped(
    url: str, results: list[tuple[str, int]], stop: threading.Event, counter: Callable[[], int]
) -> None:
    """Keep sending requests on one keep-alive connection until the server goes away."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            i = counter()
            try:
                response = client.post("/v2/models/demo/infer", json=_body(i))
            except httpx.TransportError:
                return  # not accepted: the server had stopped taking connections
            results.append((f"r{i}", response.status_code))
            if response.status_code == 200:
                assert response.json()["id"] == f"r{i}"


def run_load_then_sigterm(
    proc: RuntimeProcess, clients: int = 8, seconds: float = 1.5
) -> tuple[list[tuple[str, int]], int]:
    """Concurrent clients, SIGTERM in the middle; returns the answers and the exit code."""
    results: list[tuple[str, int]] = []
    stop = threading.Event()
    lock = threading.Lock()
    sent = [0]

    def counter() -> int:
        with lock:
            sent[0] += 1
            return sent[0]

    threads = [
        threading.Thread(target=send_until_stopped, args=(proc.url, results, stop, counter))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    code = proc.terminate()
    stop.set()
    for thread in threads:
        thread.join(30)
    return results, code


def test_sigterm_answers_every_accepted_request_and_exits_zero(
    make_settings: SettingsFactory, runtime_process: Callable[..., RuntimeProcess], tmp_path: Path
) -> None:
    # inline_threshold 0: requests queue for the worker thread, so some are mid-batch at SIGTERM
    settings = make_settings(mlp_model(20), inline_threshold_ms=0, max_latency_ms=5)
    proc = runtime_process(settings)
    proc.wait_ready()
    results, code = run_load_then_sigterm(proc)
    assert code == 0, proc.logs()
    assert len(results) > 50
    assert {status for _, status in results} == {200}
    assert "Application shutdown complete" in proc.logs()


def test_sigterm_flushes_every_buffered_payload_row_to_s3(
    make_settings: SettingsFactory, runtime_process: Callable[..., RuntimeProcess], s3: Any
) -> None:
    settings = make_settings(
        mlp_model(20),
        inline_threshold_ms=0,
        max_latency_ms=5,
        payload_sample_rate=1.0,
        payload_bucket=s3.bucket,
        payload_namespace="mp-term",
        payload_deployment="dep",
        payload_variant="stable",
        payload_flush_interval_s=3600,
        payload_flush_rows=10**6,
        payload_max_buffered_rows=10**6,
        s3_endpoint_url=s3.endpoint_url,
        s3_access_key_id=s3.access_key,
        s3_secret_access_key=s3.secret_key,
        s3_region=s3.region,
    )
    proc = runtime_process(settings)
    proc.wait_ready()
    results, code = run_load_then_sigterm(proc)
    assert code == 0, proc.logs()
    assert {status for _, status in results} == {200}
    client = s3.client()
    keys = [
        o["Key"]
        for o in client.list_objects_v2(Bucket=s3.bucket, Prefix="mp-term/").get("Contents", [])
    ]
    logged: list[str] = []
    for key in keys:
        body = client.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        logged += pq.read_table(io.BytesIO(body)).column("request_id").to_pylist()
    assert sorted(logged) == sorted(request_id for request_id, _ in results)


def test_sigterm_waits_for_requests_still_being_computed(
    make_settings: SettingsFactory, runtime_process: Callable[..., RuntimeProcess]
) -> None:
    import http.client

    from tests.onnx_models import slow_model

    proc = runtime_process(make_settings(slow_model()))
    proc.wait_ready()
    rows = 8
    body = json.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": "FP32",
                    "shape": [rows, 1024],
                    "data": [0.01] * (rows * 1024),
                }
            ]
        }
    )
    path = "/v2/models/demo/infer"
    warm = httpx.post(proc.url + path, content=body, timeout=30)
    assert warm.status_code == 200  # the batcher has now measured that this model is slow
    connections = []
    for _ in range(8):  # eight requests fully sent before SIGTERM (~60 ms of compute each)
        conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=30)
        conn.request("POST", path, body=body, headers={"content-type": "application/json"})
        connections.append(conn)
    time.sleep(0.1)
    import select

    answered, _, _ = select.select([c.sock for c in connections], [], [], 0)
    proc.sigterm()
    assert len(answered) < len(connections), "every request finished before SIGTERM"
    answers = []
    for conn in connections:
        response = conn.getresponse()
        answers.append((response.status, json.loads(response.read())))
        conn.close()
    assert proc.terminate() == 0, proc.logs()
    assert [status for status, _ in answers] == [200] * 8
    assert all(doc["outputs"][0]["shape"] == [rows, 1024] for _, doc in answers)
    logs = proc.logs()
    assert logs.index("Shutting down") < logs.index("Application shutdown complete")


def test_logs_are_json_lines_with_request_id_model_version_and_status(
    make_settings: SettingsFactory, runtime_process: Callable[..., RuntimeProcess]
) -> None:
    proc = runtime_process(make_settings(linear_model(4)))
    proc.wait_ready()
    bad = {
        "id": "bad-1",
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": [1, 2, 3, 4]}],
    }
    response = httpx.post(f"{proc.url}/v2/models/demo/infer", json=bad, timeout=10)
    assert response.status_code == 400
    assert proc.terminate() == 0
    records = proc.log_records()
    assert all(r["model_name"] == "demo" and r["model_version"] == "3" for r in records)
    loaded = next(r for r in records if r.get("event") == "model_loaded")
    assert loaded["providers"] == ["CPUExecutionProvider"]
    refused = [r for r in records if r.get("request_id") == "bad-1"]
    assert len(refused) == 1
    assert refused[0]["status"] == 400
    assert "FP64" in refused[0]["error"]
    assert refused[0]["latency_ms"] >= 0
