"""Open Inference Protocol v2 REST types: parsing requests and building responses.

Requests are parsed by hand from the orjson-decoded body instead of through pydantic: the
HTTP/JSON layer is almost all of the latency for small models, and hand parsing is both faster
and stricter (unknown fields are refused, the error names the field). The binary tensor data
extension (`Inference-Header-Content-Length`, `binary_data_size`, `binary_data_output`) is
supported because standard clients such as tritonclient use it by default.
Spec: https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from modelplane_runtime.errors import InvalidRequest

_REQUEST_KEYS = frozenset({"id", "parameters", "inputs", "outputs"})
_INPUT_KEYS = frozenset({"name", "shape", "datatype", "parameters", "data"})
_OUTPUT_KEYS = frozenset({"name", "parameters"})


@dataclass(slots=True)
class RequestInput:
    """One input tensor as sent: `data` is JSON (nested or flat lists) or raw binary bytes."""

    name: str
    datatype: str
    shape: list[int]
    data: Any


@dataclass(slots=True)
class RequestOutput:
    """One requested output; `binary` asks for the binary data extension."""

    name: str
    binary: bool


@dataclass(slots=True)
class InferenceRequest:
    """A parsed OIP inference request."""

    id: str | None
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None
    binary_output: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)


def _parse_constant(value: str) -> float:
    return math.nan if value == "NaN" else (math.inf if value == "Infinity" else -math.inf)


def load_json(body: bytes) -> Any:
    """Decode JSON; NaN/Infinity literals (which Python clients emit) reach the NaN policy."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        try:  # slow path only for bodies orjson refuses, e.g. NaN literals or 1e999
            return json.loads(body, parse_constant=_parse_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InvalidRequest(f"malformed JSON body: {exc}", violation="malformed_json") from exc


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(message, violation="malformed_request")


def _parameters(obj: dict[str, Any], where: str) -> dict[str, Any]:
    params = obj.get("parameters")
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise _bad(f"{where}: 'parameters' must be an object")
    return params


def parse_infer_request(body: bytes, json_length: int | None = None) -> InferenceRequest:
    """Parse an inference request body (JSON, or JSON header + binary tensors).

    Error messages are formatted only on failure: this runs on every request."""
    binary = b""
    if json_length is not None:
        if not 0 < json_length <= len(body):
            raise _bad("Inference-Header-Content-Length is larger than the body")
        body, binary = body[:json_length], body[json_length:]
    doc = load_json(body)
    if type(doc) is not dict:
        raise _bad("the request body must be a JSON object")
    if not doc.keys() <= _REQUEST_KEYS:
        raise _bad(f"unknown request field(s): {sorted(doc.keys() - _REQUEST_KEYS)}")
    request_id = doc.get("id")
    if request_id is not None and type(request_id) is not str:
        raise _bad("'id' must be a string")
    params = _parameters(doc, "request")
    raw_inputs = doc.get("inputs")
    if type(raw_inputs) is not list or not raw_inputs:
        raise _bad("'inputs' must be a non-empty list")
    inputs = []
    offset = 0
    for i, raw in enumerate(raw_inputs):
        tensor, offset = _parse_input(raw, i, binary, offset)
        inputs.append(tensor)
    if offset != len(binary):
        raise _bad("the binary part of the body is longer than the tensors in it")
    binary_output = params.get("binary_data_output", False) is True
    outputs = None
    raw_outputs = doc.get("outputs")
    if raw_outputs is not None:
        if type(raw_outputs) is not list:
            raise _bad("'outputs' must be a list")
        outputs = [_parse_output(raw, binary_output) for raw in raw_outputs]
    return InferenceRequest(request_id, inputs, outputs, binary_output, params)


def _parse_input(raw: Any, i: int, binary: bytes, offset: int) -> tuple[RequestInput, int]:
    if type(raw) is not dict:
        raise _bad(f"inputs[{i}] must be an object")
    if not raw.keys() <= _INPUT_KEYS:
        raise _bad(f"inputs[{i}]: unknown field(s): {sorted(raw.keys() - _INPUT_KEYS)}")
    name, datatype, shape = raw.get("name"), raw.get("datatype"), raw.get("shape")
    if type(name) is not str:
        raise _bad(f"inputs[{i}]: 'name' must be a string")
    if type(datatype) is not str:
        raise _bad(f"input '{name}': 'datatype' must be a string")
    if type(shape) is not list or not all(type(d) is int and d >= 0 for d in shape):
        raise _bad(f"input '{name}': 'shape' must be a list of non-negative integers")
    if "parameters" in raw:
        size = _parameters(raw, f"input '{name}'").get("binary_data_size")
        if size is not None:
            if type(size) is not int or size < 0:
                raise _bad(f"input '{name}': bad binary_data_size")
            if "data" in raw:
                raise _bad(f"input '{name}': both 'data' and binary_data_size given")
            if offset + size > len(binary):
                raise _bad(f"input '{name}': binary_data_size runs past the end of the body")
            return RequestInput(name, datatype, shape, binary[offset : offset + size]), (
                offset + size
            )
    if "data" not in raw:
        raise _bad(f"input '{name}': 'data' is missing")
    return RequestInput(name, datatype, shape, raw["data"]), offset


def _parse_output(raw: Any, default_binary: bool) -> RequestOutput:
    if type(raw) is not dict or type(raw.get("name")) is not str:
        raise _bad("each of 'outputs' must be an object with a string 'name'")
    if not raw.keys() <= _OUTPUT_KEYS:
        raise _bad(f"output '{raw['name']}': unknown field(s): {sorted(raw.keys() - _OUTPUT_KEYS)}")
    binary = _parameters(raw, f"output '{raw['name']}'").get("binary_data", default_binary)
    return RequestOutput(raw["name"], binary is True)


def _bytes_blob(array: np.ndarray) -> bytes:
    parts = []
    for item in array.ravel():
        raw = item if isinstance(item, bytes) else str(item).encode()
        parts += [struct.pack("<I", len(raw)), raw]
    return b"".join(parts)


def encode_output(
    name: str, datatype: str, array: np.ndarray, binary: bool
) -> tuple[dict[str, Any], bytes | None]:
    """One output entry of a response, plus its binary blob when binary output is asked for."""
    shape = list(array.shape)
    if binary:
        blob = _bytes_blob(array) if datatype == "BYTES" else np.ascontiguousarray(array).tobytes()
        entry = {
            "name": name,
            "datatype": datatype,
            "shape": shape,
            "parameters": {"binary_data_size": len(blob)},
        }
        return entry, blob
    if datatype == "BYTES":
        data: Any = [v.decode() if isinstance(v, bytes) else str(v) for v in array.ravel()]
    elif datatype == "FP16":
        data = array.astype(np.float32).ravel()
    else:
        data = np.ascontiguousarray(array).ravel()
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}, None


def dump(doc: Any) -> bytes:
    """Serialize a response document (numpy arrays natively)."""
    return orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
