"""The inference proxy: OIP v2 calls through the facade reach a real serving runtime process
(standing in for the deployment's Service, whose address the recording gateway gives) and come
back unchanged — also to tritonclient, a standard client, pointed at the facade over TCP; the
facade's own guards (auth, tenancy, budgets, body size, an unreachable Service) answer first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as httpclient

from modelplane_api.main import create_app
from tests.onnx_models import model_bytes
from tests.runtime.conftest import RuntimeProcess, free_port

from .catalog import Served, serve
from .conftest import SERVED_LINEAR, SERVED_MODEL, Api, ApiFactory

pytestmark = pytest.mark.integration
MODEL = SERVED_LINEAR
ROWS = np.array([[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.5, 2.0]], dtype=np.float32)


@pytest.fixture
async def served(api: Api, serving_runtime: RuntimeProcess) -> Served:
    return await serve(api, serving_runtime.url)


def _request(rows: np.ndarray = ROWS) -> dict[str, Any]:
    return {"inputs": [{"name": "x", "shape": list(rows.shape), "datatype": "FP32",
                        "data": rows.flatten().tolist()}]}  # fmt: skip


async def test_predictions_through_the_proxy_equal_the_runtimes_and_onnxruntimes(
    served: Served, serving_runtime: RuntimeProcess
) -> None:
    headers = {**served.admin["headers"], "X-Request-ID": "req-42"}
    through = await served.api.client.post(f"{served.url}/infer", headers=headers, json=_request())
    assert through.status_code == 200, through.text
    assert through.headers["x-request-id"] == "req-42"
    answer = through.json()
    assert answer["model_name"] == SERVED_MODEL
    # the pods saw the request id (payload logs carry it: feedback joins on it)
    seen = [r for r in serving_runtime.log_records() if r.get("message") == "inference"]
    assert "req-42" in {r.get("request_id") for r in seen}
    async with httpx.AsyncClient() as direct:
        straight = await direct.post(
            f"{serving_runtime.url}/v2/models/served/infer", json=_request()
        )
    assert answer["outputs"] == straight.json()["outputs"]
    (want,) = ort.InferenceSession(model_bytes(MODEL)[0]).run(["y"], {"x": ROWS})
    got = np.asarray(answer["outputs"][0]["data"], dtype=np.float32).reshape(want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    same = await served.api.client.post(
        f"{served.url}/v2/models/served/infer", headers=headers, json=_request()
    )
    assert same.json()["outputs"] == answer["outputs"]
    metadata = await served.api.client.get(
        f"{served.url}/v2/models/served", headers=served.admin["headers"]
    )
    assert metadata.status_code == 200
    assert metadata.json()["inputs"][0]["name"] == "x"
    for path in ("/v2/health/ready", "/v2/health/live", "/v2/models/served/ready", "/v2"):
        probe = await served.api.client.get(f"{served.url}{path}", headers=served.admin["headers"])
        assert probe.status_code == 200, (path, probe.text)


async def test_the_runtimes_refusals_come_back_unchanged(served: Served) -> None:
    wrong_shape = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32",
                               "data": [1.0, 2.0, 3.0]}]}  # fmt: skip
    refused = await served.api.client.post(
        f"{served.url}/infer", headers=served.admin["headers"], json=wrong_shape
    )
    assert refused.status_code == 400
    assert "error" in refused.json()
    assert "shape" in refused.json()["error"]
    garbage = await served.api.client.post(
        f"{served.url}/infer",
        headers={**served.admin["headers"], "Content-Type": "application/json"},
        content=b"\xff{not json",
    )
    assert garbage.status_code == 400
    unknown = await served.api.client.post(
        f"{served.url}/v2/models/other/infer", headers=served.admin["headers"], json=_request()
    )
    assert unknown.status_code == 404
    assert "error" in unknown.json()


async def test_callers_are_checked_before_anything_is_forwarded(served: Served) -> None:
    api = served.api
    none = await api.client.post(f"{served.url}/infer", json=_request())
    assert none.status_code == 401
    outsider = await api.register("outsider")
    other = await api.client.post(
        f"{served.url}/infer", headers=outsider["headers"], json=_request()
    )
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    key = await api.create_api_key(served.admin, served.org["id"], "viewer")
    by_key = await api.client.post(
        f"{served.url}/infer",
        headers={"Authorization": f"Bearer {key['key']}"},
        json=_request(),
    )
    assert by_key.status_code == 200, by_key.text
    missing = await api.client.post(
        served.url.replace("fraud-staging", "nothing") + "/infer",
        headers=served.admin["headers"],
        json=_request(),
    )
    assert missing.status_code == 404


async def test_a_deployment_without_a_reachable_service_answers_503(served: Served) -> None:
    api, namespace = served.api, f"mp-{served.org['slug']}"
    api.app.state.ctx.serving.forget(namespace, "fraud-staging")
    api.gateway.services[(namespace, "fraud-staging")] = f"http://127.0.0.1:{free_port()}"
    down = await api.client.post(
        f"{served.url}/infer", headers=served.admin["headers"], json=_request()
    )
    assert down.status_code == 503
    assert down.json()["error"]["code"] == "deployment_unavailable"
    del api.gateway.services[(namespace, "fraud-staging")]
    api.app.state.ctx.serving.forget(namespace, "fraud-staging")
    unmade = await api.client.post(
        f"{served.url}/infer", headers=served.admin["headers"], json=_request()
    )
    assert unmade.status_code == 503
    assert "no endpoint yet" in unmade.json()["error"]["message"]


async def test_a_burst_over_the_budget_answers_429_with_retry_after(
    make_api: ApiFactory, serving_runtime: RuntimeProcess
) -> None:
    api = await make_api(inference_rate_per_principal=5)
    served = await serve(api, serving_runtime.url)
    answers = [
        (
            await api.client.post(
                f"{served.url}/infer", headers=served.admin["headers"], json=_request()
            )
        ).status_code
        for _ in range(7)
    ]
    assert answers[:5] == [200] * 5
    assert answers[5:] == [429, 429]
    limited = await api.client.post(
        f"{served.url}/infer", headers=served.admin["headers"], json=_request()
    )
    assert int(limited.headers["retry-after"]) >= 1
    other = await api.register("other")
    await api.add_member(served.admin, served.org["id"], other, "viewer")
    fresh = await api.client.post(f"{served.url}/infer", headers=other["headers"], json=_request())
    assert fresh.status_code == 200  # the budget is per caller


async def test_the_organization_has_one_budget_for_all_its_callers(
    make_api: ApiFactory, serving_runtime: RuntimeProcess
) -> None:
    api = await make_api(inference_rate_per_organization=3)
    served = await serve(api, serving_runtime.url)
    other = await api.register("other")
    await api.add_member(served.admin, served.org["id"], other, "viewer")
    callers = [served.admin, other, served.admin, other]
    answers = [
        (
            await api.client.post(f"{served.url}/infer", headers=c["headers"], json=_request())
        ).status_code
        for c in callers
    ]
    assert answers == [200, 200, 200, 429]


async def test_a_body_over_the_inference_limit_is_refused_with_413(
    make_api: ApiFactory, serving_runtime: RuntimeProcess
) -> None:
    api = await make_api(max_inference_bytes=4096)
    served = await serve(api, serving_runtime.url)
    rows = np.zeros((400, 4), dtype=np.float32)
    big = await api.client.post(
        f"{served.url}/infer", headers=served.admin["headers"], json=_request(rows)
    )
    assert big.status_code == 413
    small = await api.client.post(
        f"{served.url}/infer", headers=served.admin["headers"], json=_request()
    )
    assert small.status_code == 200


@pytest.fixture
async def facade_over_tcp(served: Served) -> AsyncIterator[str]:
    """The facade over TCP: tritonclient speaks HTTP, not ASGI."""
    async with served.api.over_tcp() as base:
        yield f"{base.removeprefix('http://')}{served.url}"


@pytest.mark.parametrize("binary", [False, True])
async def test_tritonclient_works_against_the_proxy(
    served: Served, facade_over_tcp: str, binary: bool
) -> None:
    def call() -> tuple[np.ndarray, bool, dict[str, Any]]:
        client = httpclient.InferenceServerClient(url=facade_over_tcp)
        try:
            headers = served.admin["headers"]
            ready = client.is_server_ready(headers=headers)
            metadata = client.get_model_metadata(SERVED_MODEL, headers=headers)
            tensor = httpclient.InferInput("x", list(ROWS.shape), "FP32")
            tensor.set_data_from_numpy(ROWS, binary_data=binary)
            output = httpclient.InferRequestedOutput("y", binary_data=binary)
            result = client.infer(SERVED_MODEL, [tensor], outputs=[output], headers=headers)
            return result.as_numpy("y"), ready, metadata
        finally:
            client.close()

    y, ready, metadata = await asyncio.to_thread(call)
    assert ready
    assert metadata["name"] == SERVED_MODEL
    (want,) = ort.InferenceSession(model_bytes(MODEL)[0]).run(["y"], {"x": ROWS})
    np.testing.assert_allclose(y, want, rtol=1e-6)


def test_the_proxy_is_documented_and_unaudited() -> None:
    from tests.api.conftest import make_settings

    document = create_app(make_settings()).openapi()
    infer = document["paths"]["/api/v1/organizations/{org_id}/deployments/{name}/infer"]["post"]
    assert infer["x-audit"] == {"exempt": infer["x-audit"]["exempt"]}
    assert "application/json" in infer["requestBody"]["content"]
