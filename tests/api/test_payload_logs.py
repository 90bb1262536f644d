"""Payload logs of a deployment through the facade: hour windows listed from the real S3
server, samples downloaded as CSV and Parquet. The logs are written with the serving runtime's
own table builder and key layout, so the facade reads exactly what pods write."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from modelplane_api.cluster import ClusterCaller
from modelplane_api.payload_logs import service
from modelplane_runtime.payload_log import PayloadRecord, PayloadTableBuilder, object_key

from .catalog import deployed
from .conftest import PAYLOAD_BUCKET, Api

HOUR = datetime(2026, 12, 7, 4, tzinfo=UTC)


async def _deployment(api: Api) -> tuple[dict[str, Any], dict[str, Any], str]:
    admin, org, path = await deployed(api, payload_logging={"sampleRate": 0.5})
    return admin, org, f"{path}/payload-logs"


def _log(s3: Any, namespace: str, variant: str, at: datetime, ids: list[str]) -> str:
    """One file as a serving pod of `variant` writes it: a row per request, answered at `at`."""
    builder = PayloadTableBuilder("fraud", variant, variant, None, 1024, 32)
    records = [
        PayloadRecord(
            request_id=rid,
            ts_us=int((at + timedelta(seconds=i)).timestamp() * 1_000_000),
            rows=1,
            inputs={"x": np.array([[float(i), 2.0]], dtype=np.float32)},
            outputs={"y": np.array([[float(i) * 10]], dtype=np.float32)},
        )
        for i, rid in enumerate(ids)
    ]
    sink = io.BytesIO()
    pq.write_table(builder.build(records), sink)
    key = object_key(namespace, "fraud-staging", variant, at.replace(minute=0, second=0), at)
    s3.client().put_object(Bucket=PAYLOAD_BUCKET, Key=key, Body=sink.getvalue())
    return key


async def test_windows_are_listed_per_variant_and_hour_newest_first(api: Api, s3: Any) -> None:
    admin, org, url = await _deployment(api)
    namespace = f"mp-{org['slug']}"
    _log(s3, namespace, "fraud-1", HOUR.replace(minute=5), ["a", "b"])
    _log(s3, namespace, "fraud-1", HOUR.replace(minute=40), ["c"])
    _log(s3, namespace, "fraud-1", HOUR + timedelta(hours=1, minutes=1), ["d"])
    _log(s3, namespace, "fraud-2", HOUR.replace(minute=50), ["e"])
    _log(s3, namespace, "fraud-1", HOUR - timedelta(days=3), ["old"])
    feedback = f"{url.removesuffix('/payload-logs')}/feedback"
    sent = await api.client.post(
        feedback,
        headers=admin["headers"],
        json={"rows": [{"request_id": "a", "label": "1", "observed_at": "2026-12-07T04:30:00Z"}]},
    )
    assert sent.status_code == 201, sent.text
    api.gateway.calls_as.clear()
    listed = await api.client.get(
        url, headers=admin["headers"],
        params={"since": "2026-12-07T00:00:00Z", "until": "2026-12-08T00:00:00Z"},
    )  # fmt: skip
    assert listed.status_code == 200, listed.text
    # The deployment is read as the person asking, like every other read of a Modelplane kind.
    person = ClusterCaller(f"modelplane:user:{admin['id']}", "admin")
    assert api.gateway.calls_as == [("get", person)]
    data = listed.json()["data"]
    assert data["bucket"] == PAYLOAD_BUCKET
    assert data["prefix"] == f"{namespace}/fraud-staging/"
    assert data["sample_rate"] == 0.5
    assert data["truncated"] is False
    windows = [(w["variant"], w["start"][:13], w["files"]) for w in data["windows"]]
    assert windows == [
        ("fraud-1", "2026-12-07T05", 1),
        ("fraud-2", "2026-12-07T04", 1),
        ("fraud-1", "2026-12-07T04", 2),
    ]  # the feedback folder and the day-old file are not windows
    assert all(w["size_bytes"] > 0 for w in data["windows"])
    one = await api.client.get(
        url, headers=admin["headers"],
        params={"variant": "fraud-2", "since": "2026-12-07T00:00:00Z"},
    )  # fmt: skip
    assert [w["variant"] for w in one.json()["data"]["windows"]] == ["fraud-2"]


async def test_a_sample_downloads_as_csv_and_parquet_within_the_window(api: Api, s3: Any) -> None:
    admin, org, url = await _deployment(api)
    namespace = f"mp-{org['slug']}"
    ids = [f"r{i:03d}" for i in range(50)]
    _log(s3, namespace, "fraud-1", HOUR.replace(minute=10), ids)
    _log(s3, namespace, "fraud-2", HOUR.replace(minute=20), ["late-1", "late-2"])
    window = {"start": "2026-12-07T04:00:00Z", "end": "2026-12-07T05:00:00Z"}
    got = await api.client.get(
        f"{url}/sample", headers=admin["headers"], params={**window, "rows": 10, "seed": 7}
    )
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="fraud-staging-all-' in got.headers["content-disposition"]
    assert got.headers["x-modelplane-matched-rows"] == "52"
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert len(rows) == 10
    assert {"request_id", "ts", "variant", "input.x.0", "input.x.1", "output.y.0"} <= set(rows[0])
    assert [r["ts"] for r in rows] == sorted(r["ts"] for r in rows)
    assert all(r["request_id"] in {*ids, "late-1", "late-2"} for r in rows)
    again = await api.client.get(
        f"{url}/sample", headers=admin["headers"], params={**window, "rows": 10, "seed": 7}
    )
    assert again.text == got.text  # the same seed draws the same rows
    parquet = await api.client.get(
        f"{url}/sample",
        headers=admin["headers"],
        params={**window, "variant": "fraud-1", "format": "parquet", "rows": 1000},
    )
    assert parquet.status_code == 200, parquet.text
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column("request_id").to_pylist() == ids
    assert table.column("output.y.0").to_pylist() == [i * 10.0 for i in range(50)]
    narrow = await api.client.get(
        f"{url}/sample",
        headers=admin["headers"],
        params={"start": "2026-12-07T04:10:05Z", "end": "2026-12-07T04:10:08Z"},
    )
    assert [r["request_id"] for r in csv.DictReader(io.StringIO(narrow.text))] == [
        "r005", "r006", "r007",
    ]  # fmt: skip


async def test_an_empty_window_a_broken_file_and_a_too_wide_window(
    api: Api, s3: Any, monkeypatch: Any
) -> None:
    admin, org, url = await _deployment(api)
    namespace = f"mp-{org['slug']}"
    window = {"start": "2026-12-07T04:00:00Z", "end": "2026-12-07T06:00:00Z"}
    empty = await api.client.get(f"{url}/sample", headers=admin["headers"], params=window)
    assert empty.status_code == 200, empty.text
    assert empty.text.splitlines()[0].replace('"', "").split(",") == [
        "request_id", "ts", "model_name", "model_version", "variant",
    ]  # fmt: skip
    assert empty.headers["x-modelplane-matched-rows"] == "0"
    _log(s3, namespace, "fraud-1", HOUR.replace(minute=1), ["ok"])
    broken = object_key(namespace, "fraud-staging", "fraud-1", HOUR, HOUR.replace(minute=2))
    s3.client().put_object(Bucket=PAYLOAD_BUCKET, Key=broken, Body=b"PAR1 not parquet")
    got = await api.client.get(f"{url}/sample", headers=admin["headers"], params=window)
    assert got.status_code == 200, got.text
    assert got.headers["x-modelplane-skipped-files"] == "1"
    assert [r["request_id"] for r in csv.DictReader(io.StringIO(got.text))] == ["ok"]
    monkeypatch.setattr(service, "MAX_SAMPLE_FILES", 1)
    wide = await api.client.get(f"{url}/sample", headers=admin["headers"], params=window)
    assert wide.status_code == 400
    assert wide.json()["error"]["details"]["files"] == 2
    backwards = await api.client.get(
        f"{url}/sample", headers=admin["headers"],
        params={"start": window["end"], "end": window["start"]},
    )  # fmt: skip
    assert backwards.status_code == 400


async def test_viewers_do_not_read_payloads_and_unknown_deployments_are_not_found(
    api: Api,
) -> None:
    admin, org, url = await _deployment(api)
    viewer = await api.register("viewer")
    await api.add_member(admin, org["id"], viewer, "viewer")
    assert (await api.client.get(url, headers=viewer["headers"])).status_code == 403
    sample = await api.client.get(f"{url}/sample", headers=viewer["headers"])
    assert sample.status_code == 403
    other = url.replace("fraud-staging", "nothing")
    assert (await api.client.get(other, headers=admin["headers"])).status_code == 404
    bad = await api.client.get(url, headers=admin["headers"], params={"variant": "Not_A_Name"})
    assert bad.status_code == 422
