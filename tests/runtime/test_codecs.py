"""Pure tests of the strict tensor codec: what is accepted, converted, and refused."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from modelplane_runtime.codecs import decode_input
from modelplane_runtime.errors import InvalidRequest
from modelplane_runtime.protocol import RequestInput, encode_output, parse_infer_request
from modelplane_runtime.settings import TensorSpec


def decode(
    datatype: str,
    shape: list[int],
    data: Any,
    spec_shape: tuple[int, ...] = (-1, 2),
    allow_non_finite: bool = False,
) -> np.ndarray:
    spec = TensorSpec(name="t", datatype=datatype, shape=spec_shape)
    return decode_input(
        RequestInput("t", datatype, shape, data),
        spec,
        max_batch_size=8,
        allow_non_finite=allow_non_finite,
    )


@pytest.mark.parametrize(
    ("datatype", "data", "dtype"),
    [
        ("FP32", [1, 2.5, -3, 4], np.float32),
        ("FP64", [[1, 2], [3, 4]], np.float64),
        ("FP16", [0.5, 1, 2, 3], np.float16),
        ("INT32", [1, -2, 3, 4], np.int32),
        ("INT64", [[2**40, 1], [2, 3]], np.int64),
        ("UINT8", [0, 255, 1, 2], np.uint8),
        ("BOOL", [True, False, True, True], np.bool_),
        ("BYTES", ["a", "b", "ç", ""], object),
    ],
)
def test_valid_json_data_becomes_an_array_of_the_declared_dtype_and_shape(
    datatype: str, data: Any, dtype: Any
) -> None:
    array = decode(datatype, [2, 2], data)
    assert array.dtype == np.dtype(dtype)
    assert array.shape == (2, 2)
    assert array.ravel().tolist() == np.array(data, dtype=dtype).ravel().tolist()


@pytest.mark.parametrize(
    ("datatype", "data", "message"),
    [
        ("UINT8", [0, 256, 1, 2], "outside the UINT8 range"),
        ("INT32", [2**31, 0, 0, 0], "outside the INT32 range"),
        ("UINT32", [-1, 0, 0, 0], "outside the UINT32 range"),
        ("BOOL", [1, 0, 1, 0], "non-boolean"),
        ("FP32", [None, 1, 2, 3], "non-numeric"),
        ("FP32", [True, False, True, False], "non-numeric"),
        ("INT64", ["1", "2", "3", "4"], "non-integer"),
        ("BYTES", [b"x", "y", "z", "w"], "non-string"),
    ],
)
def test_values_that_do_not_fit_the_datatype_are_refused(
    datatype: str, data: Any, message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        decode(datatype, [2, 2], data)


def test_non_finite_values_follow_the_policy() -> None:
    with pytest.raises(InvalidRequest, match="NaN or infinite") as info:
        decode("FP64", [1, 2], [1.0, float("nan")])
    assert info.value.violation == "non_finite"
    assert np.isnan(decode("FP64", [1, 2], [1.0, float("nan")], allow_non_finite=True)[0, 1])


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT32", "INT64", "UINT8", "BOOL", "FP16"])
def test_binary_data_round_trips(datatype: str) -> None:
    from modelplane_runtime.codecs import NUMPY_DTYPES

    dtype = NUMPY_DTYPES[datatype]
    array = np.arange(4).reshape(2, 2).astype(dtype)
    decoded = decode(datatype, [2, 2], array.astype(dtype.newbyteorder("<")).tobytes())
    np.testing.assert_array_equal(decoded, array)
    with pytest.raises(InvalidRequest, match="bytes of binary data"):
        decode(datatype, [2, 2], array.tobytes()[:-1])


def test_binary_bytes_are_length_prefixed_strings() -> None:
    blob = b"".join(struct.pack("<I", len(s)) + s for s in (b"red", b"", b"blue", b"x"))
    assert decode("BYTES", [2, 2], blob).ravel().tolist() == ["red", "", "blue", "x"]
    with pytest.raises(InvalidRequest, match="elements"):
        decode("BYTES", [2, 2], blob[:-5])


def test_binary_request_bodies_are_split_by_the_header_length() -> None:
    header = (
        b'{"inputs":[{"name":"t","datatype":"INT32","shape":[1,2],'
        b'"parameters":{"binary_data_size":8}}],"parameters":{"binary_data_output":true}}'
    )
    request = parse_infer_request(header + struct.pack("<2i", 7, -9), len(header))
    assert request.binary_output
    assert decode("INT32", [1, 2], request.inputs[0].data).tolist() == [[7, -9]]
    with pytest.raises(InvalidRequest, match="longer than the tensors"):
        parse_infer_request(header + b"\x00" * 12, len(header))


def test_binary_outputs_carry_their_size_and_raw_bytes() -> None:
    entry, blob = encode_output("y", "FP32", np.array([[1.5, 2.0]], dtype=np.float32), True)
    assert entry == {
        "name": "y",
        "datatype": "FP32",
        "shape": [1, 2],
        "parameters": {"binary_data_size": 8},
    }
    assert blob == struct.pack("<2f", 1.5, 2.0)
