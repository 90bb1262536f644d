"""Ground-truth feedback: rows checked whole, written as Parquet next to the payload logs in the
real S3 server (hour partitions), read back by request id; retries add nothing."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq

from modelplane_api.cluster import MODEL_DEPLOYMENT

from .catalog import deployed
from .conftest import PAYLOAD_BUCKET, Api


async def _deployment(api: Api) -> tuple[dict[str, Any], dict[str, Any], str]:
    admin, org, path = await deployed(api)
    return admin, org, f"{path}/feedback"


def _row(request_id: str, at: str, label: str | None = "1", value: float | None = None) -> Any:
    row: dict[str, Any] = {"request_id": request_id, "observed_at": at}
    if label is not None:
        row["label"] = label
    if value is not None:
        row["value"] = value
    return row


def _keys(s3: Any, prefix: str) -> list[str]:
    found = s3.client().list_objects_v2(Bucket=PAYLOAD_BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in found.get("Contents") or [])


async def test_rows_land_as_parquet_by_hour_and_read_back_by_request_id(api: Api, s3: Any) -> None:
    admin, org, url = await _deployment(api)
    rows = [
        _row("req-1", "2026-12-07T04:10:00Z", "fraud"),
        _row("req-2", "2026-12-07T04:50:00+00:00", "legit"),
        _row("req-3", "2026-12-07T07:05:00+02:00", "fraud"),  # 05:05 UTC
    ]
    sent = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    assert sent.status_code == 201, sent.text
    assert sent.json()["data"]["rows"] == 3
    prefix = f"mp-{org['slug']}/fraud-staging/_feedback/"
    keys = _keys(s3, prefix)
    assert [k.removeprefix(prefix).rsplit("/", 1)[0] for k in keys] == [
        "date=2026-12-07/hour=04",
        "date=2026-12-07/hour=05",
    ]
    assert sent.json()["data"]["files"] == [f"s3://{PAYLOAD_BUCKET}/{k}" for k in keys]
    body = s3.client().get_object(Bucket=PAYLOAD_BUCKET, Key=keys[0])["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == ["request_id", "observed_at", "label", "value", "received_at"]
    assert sorted(table.column("request_id").to_pylist()) == ["req-1", "req-2"]
    read = await api.client.get(
        url,
        headers=admin["headers"],
        params=[("request_id", "req-3"), ("request_id", "req-1"), ("request_id", "unknown"),
                ("since", "2026-12-07T00:00:00Z")],
    )  # fmt: skip
    assert read.status_code == 200, read.text
    found = read.json()["data"]
    assert [(r["request_id"], r["label"]) for r in found] == [
        ("req-1", "fraud"),
        ("req-3", "fraud"),
    ]
    assert found[1]["observed_at"].startswith("2026-12-07T05:05:00")


async def test_a_retried_call_adds_nothing_and_a_correction_wins(api: Api, s3: Any) -> None:
    admin, org, url = await _deployment(api)
    rows = [_row("a", "2026-12-07T04:00:00Z", None, 1.5), _row("b", "2026-12-07T04:01:00Z", "x")]
    first = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    again = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    assert first.json()["data"]["files"] == again.json()["data"]["files"]
    assert len(_keys(s3, f"mp-{org['slug']}/fraud-staging/_feedback/")) == 1
    corrected = await api.client.post(
        url, headers=admin["headers"], json={"rows": [_row("b", "2026-12-07T04:30:00Z", "y")]}
    )
    assert corrected.status_code == 201
    read = await api.client.get(
        url,
        headers=admin["headers"],
        params=[("request_id", "a"), ("request_id", "b"), ("since", "2026-12-07T00:00:00Z")],
    )
    assert [(r["request_id"], r["label"], r["value"]) for r in read.json()["data"]] == [
        ("a", None, 1.5),
        ("b", "y", None),
    ]


async def test_bad_rows_are_named_and_nothing_is_written(api: Api, s3: Any) -> None:
    admin, org, url = await _deployment(api)
    rows = [
        _row("ok-1", "2026-12-07T04:00:00Z"),
        {"request_id": "neither", "observed_at": "2026-12-07T04:00:00Z"},
        _row("both", "2026-12-07T04:00:00Z", "1", 2.0),
        _row("naive", "2026-12-07T04:00:00"),
        _row("has space", "2026-12-07T04:00:00Z"),
    ]
    refused = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    assert refused.status_code == 422, refused.text
    named = {str(e["loc"][2]) for e in refused.json()["error"]["details"]}
    assert named == {"1", "2", "3", "4"}  # every bad row, by index; row 0 is fine
    twice = [_row("ok-1", "2026-12-07T04:00:00Z"), _row("ok-1", "2026-12-07T04:10:00Z", "0")]
    ambiguous = await api.client.post(url, headers=admin["headers"], json={"rows": twice})
    assert ambiguous.status_code == 400, ambiguous.text
    error = ambiguous.json()["error"]
    assert error["code"] == "invalid_rows"
    assert error["details"]["rows"] == [
        {"index": 1, "request_id": "ok-1", "problem": "request id given again (row 0)"}
    ]
    assert _keys(s3, f"mp-{org['slug']}/fraud-staging/_feedback/") == []


async def test_ten_thousand_rows_are_one_call_and_more_are_refused(api: Api) -> None:
    admin, _, url = await _deployment(api)
    rows = [_row(f"req-{i:05d}", "2026-12-07T04:00:00Z", str(i % 2)) for i in range(10_000)]
    sent = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    assert sent.status_code == 201, sent.text[:300]  # about 800 KB of JSON
    assert sent.json()["data"]["rows"] == 10_000
    rows.append(_row("req-10000", "2026-12-07T04:00:00Z"))
    over = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    assert over.status_code == 422


async def test_the_deployments_own_bucket_wins_and_no_bucket_is_a_conflict(
    make_api: Any, s3: Any
) -> None:
    api: Api = await make_api(payload_bucket=None)
    admin, org, url = await _deployment(api)
    rows = [_row("r", "2026-12-07T04:00:00Z")]
    refused = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["reason"] == "NoPayloadBucket"
    s3.with_bucket("own-payloads")
    live = api.gateway.objects[(MODEL_DEPLOYMENT.plural, f"mp-{org['slug']}", "fraud-staging")]
    live["spec"]["payloadLogging"] = {"sampleRate": 1.0, "uri": "s3://own-payloads/anything"}
    sent = await api.client.post(url, headers=admin["headers"], json={"rows": rows})
    assert sent.status_code == 201, sent.text
    assert sent.json()["data"]["files"][0].startswith(
        f"s3://own-payloads/mp-{org['slug']}/fraud-staging/_feedback/date=2026-12-07/hour=04/"
    )


async def test_an_unknown_deployment_is_not_found(api: Api) -> None:
    admin, _, url = await _deployment(api)
    other = url.replace("fraud-staging", "nothing")
    rows = [_row("r", "2026-12-07T04:00:00Z")]
    assert (
        await api.client.post(other, headers=admin["headers"], json={"rows": rows})
    ).status_code == 404
    read = await api.client.get(other, headers=admin["headers"], params={"request_id": "r"})
    assert read.status_code == 404
