"""A deployment's serving metrics through the facade: a real Prometheus scrapes a real serving
runtime (standing in for the deployment's pods, with the target labels Modelplane's scrape
configuration gives them), traffic at a known rate with a known share of bad requests goes
through the facade's inference proxy, and the series the API returns match what was sent.
Series of another deployment and of another namespace on the same Prometheus never show; a
stopped or absent Prometheus answers 503 at once; range and step are bounded."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelplane_api.deployments.monitoring import MAX_POINTS, Window, prediction_queries, queries
from modelplane_api.errors import BadRequest
from tests.operator.analysis.backends import Prometheus
from tests.runtime.conftest import RuntimeProcess, free_port

from .catalog import Served, serve
from .conftest import SERVED_MODEL, Api, ApiFactory

GOOD = {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
FLIPPED = {"inputs": [{**GOOD["inputs"][0], "data": [-1, -2, -3, -4]}]}
Y_GOOD, Y_FLIPPED = 0.33426595, 0.86116505
"""The served model's `y` for GOOD (label 0) and FLIPPED (label 1), checked below."""
BAD = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
"""Three features where the model takes four: the runtime refuses it with 400."""


@dataclass
class Watched:
    api: Api
    served: Served
    prometheus: Prometheus

    @property
    def infer(self) -> str:
        return f"{self.served.url}/v2/models/{SERVED_MODEL}/infer"


@asynccontextmanager
async def watching(
    make_api: ApiFactory, serving_runtime: RuntimeProcess, tmp_path: Path
) -> AsyncIterator[Watched]:
    """An app told its Prometheus scrapes every second, and its deployment `fraud-staging`
    served by the session's runtime, scraped every second as the deployment's stable version,
    as an older version of it, as another deployment in the same namespace and as a deployment
    of another organization."""
    api = await make_api(prometheus_scrape_interval_seconds=1)
    served = await serve(api, serving_runtime.url)
    namespace = f"mp-{served.org['slug']}"
    target = serving_runtime.url.removeprefix("http://")

    def pod(namespace: str, deployment: str, model_version: str) -> tuple[str, dict[str, str]]:
        labels = {"namespace": namespace, "deployment": deployment}
        return target, {**labels, "model_version": model_version}

    prometheus = Prometheus(
        [],
        tmp_path / "prometheus",
        labelled=[
            pod(namespace, "fraud-staging", served.version["resource_name"]),
            pod(namespace, "fraud-staging", "fraud-old"),
            pod(namespace, "other-deployment", "other-version"),
            pod("mp-someone-else", "fraud-staging", "theirs"),
        ],
    )
    try:
        prometheus.wait_ready()
        prometheus.wait_scraped(4)
        api.app.state.ctx.prometheus.base_url = prometheus.url
        yield Watched(api, served, prometheus)
    finally:
        prometheus.stop()


async def test_the_series_match_the_traffic_that_was_sent(
    make_api: ApiFactory, serving_runtime: RuntimeProcess, tmp_path: Path
) -> None:
    async with watching(make_api, serving_runtime, tmp_path) as world:
        api, served, infer = world.api, world.served, world.infer
        sent, bad, began = 0, 0, time.time()
        while time.time() - began < 14:
            body = (GOOD, GOOD, FLIPPED, BAD)[sent % 4]  # labels 0, 0, 1 and a refusal
            answer = await api.client.post(infer, headers=served.admin["headers"], json=body)
            if sent < 4 and body is not BAD:
                want = (Y_FLIPPED, 1) if body is FLIPPED else (Y_GOOD, 0)
                y, label = (o["data"][0] for o in answer.json()["outputs"])
                assert (y, label) == (pytest.approx(want[0]), want[1])
            assert answer.status_code == (400 if body is BAD else 200), answer.text
            sent, bad = sent + 1, bad + (body is BAD)
            await asyncio.sleep(0.04)
        ended = time.time()
        rate = sent / (ended - began)
        await asyncio.sleep(3)  # the last requests scraped

        api.clock.now = datetime.now(UTC)  # the second question below is the same one
        answer = await api.client.get(
            f"{served.url}/metrics?range=2m&step=2s", headers=served.admin["headers"]
        )
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["step_seconds"] == 2
        assert data["window_seconds"] == 4
        versions = {v["version"]: v for v in data["versions"]}
        stable = served.version["resource_name"]
        assert list(versions) == [stable, "fraud-old"]  # stable first; nobody else's
        assert versions[stable]["role"] == "stable"
        assert versions["fraud-old"]["role"] is None
        mine = versions[stable]

        def within(points: list[dict[str, float]]) -> list[float]:
            """Values of points whose whole window lies inside the traffic (a scrape either
            side spared)."""
            first, last = began + data["window_seconds"] + 1, ended - 1
            return [p["v"] for p in points if first <= p["t"] <= last]

        def during(field: str) -> list[float]:
            return within(mine[field])

        requests = during("requests_per_second")
        assert len(requests) >= 3, mine["requests_per_second"]
        assert statistics.median(requests) == pytest.approx(rate, rel=0.2), (requests, rate)
        assert statistics.median(during("errors_4xx_ratio")) == pytest.approx(bad / sent, abs=0.06)
        assert max(during("errors_5xx_ratio")) == 0.0
        p50, p95, p99 = (statistics.median(during(f"latency_p{q}_seconds")) for q in (50, 95, 99))
        assert 0 < p50 <= p95 <= p99 < 5
        assert min(during("batch_size_mean")) >= 1.0
        assert statistics.median(during("schema_violations_per_second")) == pytest.approx(
            rate / 4, rel=0.3
        )

        # The prediction distribution: two thirds of the answered rows were GOOD, one FLIPPED.
        outputs = {p["output"]: p for p in mine["predictions"]}
        assert sorted(outputs) == ["label", "y"]
        y, label = outputs["y"], outputs["label"]
        assert (y["kind"], label["kind"]) == ("numerical", "categorical")
        assert (y["classes"], label["mean"]) == ([], [])
        assert statistics.median(within(y["rows_per_second"])) == pytest.approx(
            rate * 3 / 4, rel=0.2
        )
        assert statistics.median(within(y["mean"])) == pytest.approx(
            (2 * Y_GOOD + Y_FLIPPED) / 3, abs=0.03
        )
        assert 0.3 < statistics.median(within(y["p50"])) <= 0.4  # GOOD's bucket (0.3, 0.4]
        assert 0.8 < statistics.median(within(y["p90"])) <= 0.9  # FLIPPED's bucket (0.8, 0.9]
        shares = {c["label"]: c["share"] for c in label["classes"]}
        assert list(shares) == ["0", "1"]  # most predicted first
        for klass, share in (("0", 2 / 3), ("1", 1 / 3)):
            assert statistics.median(within(shares[klass])) == pytest.approx(share, abs=0.06)

        # Kept briefly: the same question while Prometheus is down gets the same answer …
        world.prometheus.stop()
        again = await api.client.get(
            f"{served.url}/metrics?range=2m&step=2s", headers=served.admin["headers"]
        )
        assert again.status_code == 200, again.text
        assert again.json()["data"] == data
        api.clock.now = None
        # … and a new question gets 503 with the envelope, at once.
        asked = time.monotonic()
        down = await api.client.get(
            f"{served.url}/metrics?range=1h", headers=served.admin["headers"]
        )
        assert time.monotonic() - asked < 3
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "metrics_unavailable"
        assert down.headers["Retry-After"]


async def test_another_organizations_deployment_is_not_found(
    make_api: ApiFactory, serving_runtime: RuntimeProcess, tmp_path: Path
) -> None:
    async with watching(make_api, serving_runtime, tmp_path) as world:
        api = world.api
        stranger = await api.register("stranger")
        theirs = await api.create_org(stranger)
        asked = {
            "their org, our deployment's name": (
                f"/api/v1/organizations/{theirs['id']}/deployments/fraud-staging/metrics",
                stranger,
            ),
            "our org, their token": (f"{world.served.url}/metrics", stranger),
            "our org, no such deployment": (
                f"/api/v1/organizations/{world.served.org['id']}/deployments/nope/metrics",
                world.served.admin,
            ),
        }
        for what, (url, caller) in asked.items():
            answer = await api.client.get(url, headers=caller["headers"])
            assert answer.status_code == 404, (what, answer.text)
            assert answer.json()["error"]["code"] == "not_found", what


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("range=8d", "range"),
        ("range=1h;drop", "range"),
        ("range=0s", "range"),
        ("range=1w", "range"),
        ("step=-5s", "step"),
        ("range=7d&step=15s", "step"),
        ("range=1h&step=5s", "step"),  # under the scrape interval (15 s)
    ],
)
async def test_range_and_step_are_bounded(api: Api, query: str, parameter: str) -> None:
    served = await serve(api)
    answer = await api.client.get(f"{served.url}/metrics?{query}", headers=served.admin["headers"])
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "bad_request"
    assert error["details"]["parameter"] == parameter


async def test_without_prometheus_the_answer_is_503_at_once(make_api: ApiFactory) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    for prometheus_url in (None, closed):
        api = await make_api(prometheus_url=prometheus_url)
        served = await serve(api)
        asked = time.monotonic()
        answer = await api.client.get(f"{served.url}/metrics", headers=served.admin["headers"])
        assert time.monotonic() - asked < 3
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "metrics_unavailable"


def test_the_window_keeps_to_the_point_budget() -> None:
    now = 1_800_000_007.0
    default = Window.of("1h", None, 15, now)
    assert (default.step, default.window) == (30, 60)
    assert default.end == 1_800_000_000
    assert default.end - default.start == 3600
    assert (default.end - default.start) // default.step + 1 <= MAX_POINTS
    assert Window.of("7d", None, 15, now).step == 5040
    assert Window.of("5m", "15s", 15, now).window == 60  # four scrapes at least
    with pytest.raises(BadRequest, match="step of at least 1213s"):
        Window.of("7d", "1m", 15, now)


def test_every_query_is_fixed_to_the_namespace_and_deployment() -> None:
    built = queries('mp-a"}or{x="', "fraud", 60)
    assert set(built) == {
        "requests_per_second", "errors_4xx_ratio", "errors_5xx_ratio", "latency_p50_seconds",
        "latency_p95_seconds", "latency_p99_seconds", "schema_violations_per_second",
        "batch_size_mean",
    }  # fmt: skip
    predicted = prediction_queries('mp-a"}or{x="', "fraud", 60)
    assert set(predicted) == {"value_rows", "mean", "p50", "p90", "class_rows", "class_share"}
    for promql in (*built.values(), *predicted.values()):
        selectors = promql.count("{namespace=")
        assert selectors >= 1
        assert promql.count('namespace="mp-a\\"}or{x=\\"",deployment="fraud"') == selectors
        assert "[60s]" in promql


async def test_usage_counts_each_deployments_requests_and_predictions_per_day(
    make_api: ApiFactory, serving_runtime: RuntimeProcess, tmp_path: Path
) -> None:
    async with watching(make_api, serving_runtime, tmp_path) as world:
        api, served, infer = world.api, world.served, world.infer
        sent = 40
        for n in range(sent):
            body = BAD if n % 4 == 3 else GOOD
            answer = await api.client.post(infer, headers=served.admin["headers"], json=body)
            assert answer.status_code in (200, 400), answer.text
        await asyncio.sleep(3)  # scraped
        usage = await api.client.get(
            f"/api/v1/organizations/{served.org['id']}/usage?days=3",
            headers=served.admin["headers"],
        )
        assert usage.status_code == 200, usage.text
        data = usage.json()["data"]
        assert data["end"] == datetime.now(UTC).date().isoformat()
        found = {d["deployment"]: d for d in data["deployments"]}
        # The runtime is scraped as two versions of fraud-staging (each request counted by
        # both) and as another deployment of the namespace; the other org's copy never shows.
        assert set(found) == {"fraud-staging", "other-deployment"}
        mine, other = found["fraud-staging"], found["other-deployment"]
        assert other["requests"] == pytest.approx(sent, abs=2)
        assert other["predictions"] == pytest.approx(sent * 3 / 4, abs=2)  # bad rows never run
        assert mine["requests"] == pytest.approx(2 * sent, abs=4)
        assert [d["day"] for d in mine["days"]] == [data["end"]]
        assert mine["days"][0]["requests"] == mine["requests"]

        developer = await api.register("dev")
        await api.add_member(served.admin, served.org["id"], developer, "developer")
        refused = await api.client.get(
            f"/api/v1/organizations/{served.org['id']}/usage", headers=developer["headers"]
        )
        assert refused.status_code == 403, refused.text
        too_long = await api.client.get(
            f"/api/v1/organizations/{served.org['id']}/usage?days=32",
            headers=served.admin["headers"],
        )
        assert too_long.status_code == 422, too_long.text
