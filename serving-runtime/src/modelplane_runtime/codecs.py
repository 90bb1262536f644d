"""Strict conversion of OIP request tensors to numpy arrays, checked against the signature.

Every way a tensor can be wrong gets its own 400 message that names the input and says what was
expected: datatype, rank, a fixed dimension, element count versus shape, a value that does not
fit the datatype (a string in FP32, 1.5 or 2**40 in INT32), NaN/Inf (unless allowed), and the
batch size limit. `violation` labels feed the schema-violation counter that canary analysis uses.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from modelplane_runtime.errors import InvalidRequest
from modelplane_runtime.protocol import RequestInput
from modelplane_runtime.settings import TensorSpec

NUMPY_DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
_FLOATS = frozenset({"FP16", "FP32", "FP64"})


def _fail(message: str, violation: str) -> InvalidRequest:
    return InvalidRequest(message, violation=violation)


def check_shape(tensor: RequestInput, spec: TensorSpec, max_batch_size: int) -> int:
    """Check datatype, rank and fixed dims; return the element count the shape implies."""
    name = tensor.name
    if tensor.datatype != spec.datatype:
        raise _fail(
            f"input '{name}' has datatype {tensor.datatype}, the model expects {spec.datatype}",
            "datatype",
        )
    shape = tensor.shape
    if len(shape) != len(spec.shape):
        raise _fail(
            f"input '{name}' has shape {shape} (rank {len(shape)}), the model expects "
            f"rank {len(spec.shape)}: {list(spec.shape)}",
            "shape",
        )
    for axis, (got, want) in enumerate(zip(shape, spec.shape, strict=True)):
        if want not in (-1, got):
            raise _fail(
                f"input '{name}' has shape {shape}, the model expects "
                f"{list(spec.shape)} (dimension {axis} must be {want})",
                "shape",
            )
    if spec.shape and spec.shape[0] == -1 and shape[0] > max_batch_size:
        raise _fail(
            f"input '{name}' has a batch of {shape[0]} rows, the limit is {max_batch_size}",
            "batch_size",
        )
    return math.prod(shape)


def decode_input(
    tensor: RequestInput, spec: TensorSpec, *, max_batch_size: int, allow_non_finite: bool
) -> np.ndarray:
    """Turn one request tensor into a numpy array of the declared dtype and request shape."""
    count = check_shape(tensor, spec, max_batch_size)
    if isinstance(tensor.data, bytes):
        array = _from_binary(tensor, count)
    elif spec.datatype == "BYTES":
        array = _strings(tensor, count)
    else:
        array = _numbers(tensor, count)
    if spec.datatype in _FLOATS and not allow_non_finite and not np.isfinite(array).all():
        raise _fail(
            f"input '{tensor.name}' contains NaN or infinite values, which this model "
            f"does not accept",
            "non_finite",
        )
    return array


def _count_error(tensor: RequestInput, got: int, count: int) -> InvalidRequest:
    return _fail(
        f"input '{tensor.name}' has {got} elements but shape {tensor.shape} needs {count}",
        "element_count",
    )


def _numbers(tensor: RequestInput, count: int) -> np.ndarray:
    target = NUMPY_DTYPES[tensor.datatype]
    try:
        raw = np.asarray(tensor.data)
    except (ValueError, TypeError) as exc:
        raise _fail(
            f"input '{tensor.name}': 'data' is not a regular (non-ragged) list of numbers", "value"
        ) from exc
    if raw.size != count:
        raise _count_error(tensor, raw.size, count)
    kind = raw.dtype.kind
    if count == 0:
        return np.zeros(tensor.shape, dtype=target)
    if target.kind == "b":
        if kind != "b":
            raise _fail(
                f"input '{tensor.name}' is BOOL but 'data' holds non-boolean values", "value"
            )
    elif target.kind == "f":
        if kind not in "iuf":
            raise _fail(
                f"input '{tensor.name}' is {tensor.datatype} but 'data' holds non-numeric values",
                "value",
            )
    else:
        if kind not in "iu":
            raise _fail(
                f"input '{tensor.name}' is {tensor.datatype} but 'data' holds non-integer values",
                "value",
            )
        info = np.iinfo(target)
        if raw.min() < info.min or raw.max() > info.max:
            raise _fail(
                f"input '{tensor.name}' has values outside the {tensor.datatype} range", "value"
            )
    with np.errstate(over="ignore"):  # an overflow to inf is caught by the NaN/Inf policy
        return raw.astype(target, copy=False).reshape(tensor.shape)


def _strings(tensor: RequestInput, count: int) -> np.ndarray:
    try:
        raw = np.asarray(tensor.data, dtype=object)
    except (ValueError, TypeError) as exc:
        raise _fail(
            f"input '{tensor.name}': 'data' is not a regular (non-ragged) list of strings", "value"
        ) from exc
    if raw.size != count:
        raise _count_error(tensor, raw.size, count)
    if not all(type(v) is str for v in raw.flat):
        raise _fail(f"input '{tensor.name}' is BYTES but 'data' holds non-string values", "value")
    return raw.reshape(tensor.shape)


def _from_binary(tensor: RequestInput, count: int) -> np.ndarray:
    blob: bytes = tensor.data
    if tensor.datatype == "BYTES":
        items: list[str] = []
        offset = 0
        try:
            while offset < len(blob):
                (length,) = struct.unpack_from("<I", blob, offset)
                items.append(blob[offset + 4 : offset + 4 + length].decode())
                offset += 4 + length
        except (struct.error, UnicodeDecodeError) as exc:
            raise _fail(f"input '{tensor.name}': malformed BYTES binary data", "value") from exc
        if offset != len(blob) or len(items) != count:
            raise _count_error(tensor, len(items), count)
        return np.array(items, dtype=object).reshape(tensor.shape)
    dtype = NUMPY_DTYPES[tensor.datatype]
    if len(blob) != count * dtype.itemsize:
        raise _fail(
            f"input '{tensor.name}' has {len(blob)} bytes of binary data but shape "
            f"{tensor.shape} of {tensor.datatype} needs {count * dtype.itemsize}",
            "element_count",
        )
    array = np.frombuffer(blob, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False)
    return array.reshape(tensor.shape)
