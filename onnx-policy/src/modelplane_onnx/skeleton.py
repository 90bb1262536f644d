"""A model file's structure without its weights, read without reading the weights.

`inspect_file` runs `check_safe` on this instead of a parse of the whole file: the safety rules
look at nodes, domains, names and where a tensor's data lives, never at the data, and a 90 MiB
weight parsed into Python is 90 MiB more before onnxruntime has even started. The file is mapped
and the wire format walked along the messages that can hold a tensor; a tensor's `raw_data` and
`string_data` (bytes, which protobuf never validates) are stepped over, so their pages are never
read, and every other byte is kept as it is, re-framed, and parsed by protobuf. Anything the walk
does not expect (a truncated or unusual encoding) gives None and the caller parses the whole
file, so protobuf alone decides what is malformed, as it does for bytes.

`hollow` walks the same way to the inference graph's initializers only and leaves out their big
raw data, every other byte kept: what `inspect_file` has onnxruntime open.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

_SKIPPED = ("raw_data", "string_data")
_MAX_DEPTH = 100  # protobuf's own recursion limit


class _WalkError(Exception):
    """The walk met something it does not handle; protobuf will judge the whole file."""


@cache
def _plan() -> tuple[dict[str, dict[int, str]], str, frozenset[int]]:
    """For each message type that can hold a tensor, its fields (number → type) that can; the
    tensor type's name and the numbers of its fields that are stepped over."""
    import onnx

    types: dict[str, Any] = {}

    def collect(descriptor: Any) -> None:
        if descriptor.full_name not in types:
            types[descriptor.full_name] = descriptor
            for field in descriptor.fields:
                if field.message_type is not None:
                    collect(field.message_type)

    collect(onnx.ModelProto.DESCRIPTOR)
    tensor = onnx.TensorProto.DESCRIPTOR
    holders = {tensor.full_name}
    grown = True
    while grown:
        grown = False
        for name, descriptor in types.items():
            if name not in holders and any(
                f.message_type is not None and f.message_type.full_name in holders
                for f in descriptor.fields
            ):
                holders.add(name)
                grown = True
    plan = {
        name: {
            f.number: f.message_type.full_name
            for f in types[name].fields
            if f.message_type is not None and f.message_type.full_name in holders
        }
        for name in holders
    }
    skipped = frozenset(tensor.fields_by_name[name].number for name in _SKIPPED)
    return plan, tensor.full_name, skipped


def _varint(buf: mmap.mmap, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _WalkError
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(buf: mmap.mmap, pos: int, end: int, wire: int) -> tuple[int, int]:
    """Where the value of a field whose key ends at `pos` starts (after a length) and ends."""
    if wire == 0:
        return pos, _varint(buf, pos, end)[1]
    if wire == 1:
        return pos, pos + 8
    if wire == 5:
        return pos, pos + 4
    if wire == 2:
        length, body = _varint(buf, pos, end)
        return body, body + length
    raise _WalkError  # groups and invalid wire types: protobuf decides


def _fields(buf: mmap.mmap, start: int, end: int) -> Iterator[tuple[int, int, int, int, int, int]]:
    """Each field of the message at buf[start:end]: where it starts, where its key ends, its
    number and wire type, where its value starts (after a length) and where it ends."""
    pos = start
    while pos < end:
        field_start = pos
        key, tag_end = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        body, pos = _field(buf, tag_end, end, wire)
        if number == 0 or pos > end:
            raise _WalkError
        yield field_start, tag_end, number, wire, body, pos


def _reframed(buf: mmap.mmap, field_start: int, tag_end: int, inner: bytes | bytearray) -> bytes:
    return bytes(buf[field_start:tag_end]) + _encode_varint(len(inner)) + bytes(inner)


def _walk(buf: mmap.mmap, start: int, end: int, message: str, depth: int) -> bytearray:
    """The bytes of the message at buf[start:end] without the tensors' data."""
    if depth > _MAX_DEPTH:
        raise _WalkError
    plan, tensor, skipped = _plan()
    children = plan[message]
    out = bytearray()
    for field_start, tag_end, number, wire, body, pos in _fields(buf, start, end):
        if message == tensor and number in skipped:
            continue
        if wire == 2 and number in children:
            inner = _walk(buf, body, pos, children[number], depth + 1)
            out += _reframed(buf, field_start, tag_end, inner)
        else:
            out += buf[field_start:pos]
    return out


def skeleton(path: Path) -> Any | None:
    """The ModelProto of the file at `path` without its tensors' raw data, or None when the
    walk cannot tell (then parse the whole file)."""
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    with path.open("rb") as file:
        try:
            buf = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # an empty file cannot be mapped
            return None
        with buf:
            try:
                stripped = bytes(_walk(buf, 0, len(buf), onnx.ModelProto.DESCRIPTOR.full_name, 0))
            except _WalkError:
                return None
    try:
        return onnx.ModelProto.FromString(stripped)
    except (DecodeError, ValueError, RuntimeError):
        return None


def _hollow_tensor(buf: mmap.mmap, start: int, end: int, min_bytes: int) -> tuple[bytes, int]:
    """A tensor's bytes without its raw data when that is at least `min_bytes` long (and the
    length left out, else 0)."""
    import onnx

    raw = onnx.TensorProto.DESCRIPTOR.fields_by_name["raw_data"].number
    out, left_out, seen = bytearray(), 0, 0
    for field_start, _, number, wire, body, pos in _fields(buf, start, end):
        if number == raw and wire == 2:
            seen += 1
            if pos - body >= min_bytes:
                left_out = pos - body
                continue
        out += buf[field_start:pos]
    if seen > 1:  # protobuf keeps the last one: not worth following
        raise _WalkError
    return bytes(out), left_out


def _hollow_graph(
    buf: mmap.mmap, start: int, end: int, min_bytes: int
) -> tuple[bytearray, dict[int, int]]:
    import onnx

    initializer = onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number
    out, index = bytearray(), 0
    left_out: dict[int, int] = {}
    for field_start, tag_end, number, wire, body, pos in _fields(buf, start, end):
        if number == initializer and wire == 2:
            inner, length = _hollow_tensor(buf, body, pos, min_bytes)
            if length:
                left_out[index] = length
            index += 1
            out += _reframed(buf, field_start, tag_end, inner)
        else:
            out += buf[field_start:pos]
    return out, left_out


def hollow(path: Path, min_bytes: int) -> tuple[bytes, dict[int, int]] | None:
    """The file at `path` with the raw data of its inference graph's initializers of at least
    `min_bytes` left out, and the length left out by initializer position; None when the walk
    cannot tell. Every other byte is the file's, so protobuf and onnxruntime read the rest of
    the model as it is."""
    import onnx

    graph = onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number
    with path.open("rb") as file:
        try:
            buf = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        with buf:
            out, graphs = bytearray(), 0
            left_out: dict[int, int] = {}
            try:
                for field_start, tag_end, number, wire, body, pos in _fields(buf, 0, len(buf)):
                    if number == graph and wire == 2:
                        inner, left_out = _hollow_graph(buf, body, pos, min_bytes)
                        out += _reframed(buf, field_start, tag_end, inner)
                        graphs += 1
                    else:
                        out += buf[field_start:pos]
            except _WalkError:
                return None
    # A graph field written twice is merged by protobuf: positions would not add up.
    return (bytes(out), left_out) if graphs == 1 else None
