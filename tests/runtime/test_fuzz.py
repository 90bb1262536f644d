"""Property: no request body, however strange, makes the server answer anything but 200 or 400."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.onnx_models import mixed_input_model
from tests.runtime.conftest import SettingsFactory, open_client

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
datatypes = st.sampled_from(["FP32", "FP64", "INT64", "INT32", "BYTES", "BOOL", "UINT8", "X"])
names = st.sampled_from(["amount", "count", "color", "other"])
shapes = st.lists(st.integers(min_value=-1, max_value=4), max_size=3) | json_values
tensors = st.fixed_dictionaries(
    {"name": names, "datatype": datatypes, "shape": shapes, "data": json_values},
    optional={"parameters": json_values},
)
bodies = st.fixed_dictionaries(
    {"inputs": st.lists(tensors, max_size=4) | json_values},
    optional={"id": json_values, "outputs": json_values, "parameters": json_values},
)


@pytest.fixture
async def client(make_settings: SettingsFactory) -> Any:
    _app, http = await open_client(make_settings(mixed_input_model()))
    async with http:
        yield http


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
async def test_arbitrary_bodies_get_200_or_a_400_with_a_message(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    raw = json.dumps(body).encode()  # NaN and Infinity literals included, as Python clients send
    response = await client.post("/v2/models/demo/infer", content=raw)
    assert response.status_code in (200, 400), (body, response.text)
    if response.status_code == 400:
        assert response.json()["error"]


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,
        b'{"inputs":' + b"[" * 3000 + b"]" * 3000 + b"}",
        b"\x00" * 64,
        b'{"inputs": 1e999999}',
    ],
)
async def test_pathological_bodies_are_400(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post("/v2/models/demo/infer", content=raw)
    assert response.status_code == 400, response.text
