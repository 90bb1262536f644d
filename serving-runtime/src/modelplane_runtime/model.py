"""The one ONNX model a serving pod runs: safety checks, signature check, `session.run`.

`OnnxModel.load` parses the artifact from bytes (never from a path, so external-data references
cannot reach the file system), refuses models with external-data tensors, custom-op domains or
too many nodes (the recurring ONNX CVE classes, see shared/notes/security.md), opens an
onnxruntime session and checks the declared signature against the graph. Nothing is unpickled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

from modelplane_runtime.errors import (
    InferenceFailed,
    InvalidRequest,
    NotOnnx,
    SignatureMismatch,
    UnsafeModel,
)
from modelplane_runtime.settings import Signature, TensorSpec

ORT_TYPES = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def check_safe(model: onnx.ModelProto, allowed_domains: Sequence[str], max_nodes: int) -> None:
    """Refuse external data, custom-op domains, local functions and oversized graphs."""
    allowed = set(allowed_domains)
    bad_opsets = sorted({o.domain for o in model.opset_import} - allowed)
    if bad_opsets:
        raise UnsafeModel(
            f"model imports operator domains {bad_opsets}; allowed: {sorted(allowed)}"
        )
    if len(model.functions):
        raise UnsafeModel("model defines local functions, which are not allowed")
    nodes = 0
    for graph in _graphs(model.graph):
        nodes += len(graph.node)
        for node in graph.node:
            if node.domain not in allowed:
                raise UnsafeModel(
                    f"node '{node.name or node.op_type}' uses custom-op domain '{node.domain}'"
                )
        tensors = list(graph.initializer) + [s.values for s in graph.sparse_initializer]
        tensors += [a.t for n in graph.node for a in n.attribute if a.HasField("t")]
        for tensor in tensors:
            if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
                raise UnsafeModel(
                    f"tensor '{tensor.name}' uses external data, which is not "
                    f"allowed (load from one self-contained file)"
                )
    if nodes > max_nodes:
        raise UnsafeModel(f"model has {nodes} nodes, the limit is {max_nodes}")


def _check_tensor(kind: str, declared: TensorSpec, actual: Any) -> list[str]:
    problems = []
    datatype = ORT_TYPES.get(actual.type)
    if datatype is None:
        return [
            f"{kind} '{declared.name}' is a {actual.type} in the graph; only tensors can be served"
        ]
    if datatype != declared.datatype:
        problems.append(
            f"{kind} '{declared.name}' is declared {declared.datatype}, the graph has {datatype}"
        )
    graph_shape = [d if isinstance(d, int) and d > 0 else -1 for d in actual.shape]
    if len(graph_shape) != len(declared.shape):
        problems.append(
            f"{kind} '{declared.name}' is declared with shape "
            f"{list(declared.shape)}, the graph has {graph_shape}"
        )
    else:
        for want, have in zip(declared.shape, graph_shape, strict=True):
            if have not in (-1, want):
                problems.append(
                    f"{kind} '{declared.name}' is declared with shape "
                    f"{list(declared.shape)}, the graph has {graph_shape}"
                )
                break
    return problems


def check_signature(session: ort.InferenceSession, signature: Signature) -> None:
    """Compare the declared signature with the session's inputs and outputs."""
    problems: list[str] = []
    for kind, declared, actual in (
        ("input", signature.inputs, session.get_inputs()),
        ("output", signature.outputs, session.get_outputs()),
    ):
        by_name = {a.name: a for a in actual}
        names = {d.name for d in declared}
        missing = sorted(by_name.keys() - names)
        extra = sorted(names - by_name.keys())
        if missing:
            problems.append(f"graph {kind}s {missing} are not declared")
        if extra:
            problems.append(f"declared {kind}s {extra} are not in the graph")
        for spec in declared:
            if spec.name in by_name:
                problems += _check_tensor(kind, spec, by_name[spec.name])
    if problems:
        raise SignatureMismatch("; ".join(problems))


class OnnxModel:
    """An onnxruntime session behind the declared signature."""

    def __init__(self, session: ort.InferenceSession, signature: Signature) -> None:
        self.session: ort.InferenceSession | None = session
        self.signature = signature
        self.input_specs = {s.name: s for s in signature.inputs}
        self.output_specs = {s.name: s for s in signature.outputs}
        self.output_names = [s.name for s in signature.outputs]
        self.providers: list[str] = list(session.get_providers())
        self.batchable = all(
            s.shape and s.shape[0] == -1 for s in (*signature.inputs, *signature.outputs)
        )
        """True when every tensor's first dimension is a dynamic batch dimension."""

    @classmethod
    def load(
        cls,
        data: bytes,
        signature: Signature,
        *,
        allowed_domains: Sequence[str],
        max_nodes: int,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        intra_op_threads: int = 1,
    ) -> OnnxModel:
        """Parse, check and open the model; raise an `ArtifactError` when it cannot be served."""
        try:
            proto = onnx.load_model_from_string(data)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise NotOnnx(f"the artifact is not an ONNX model: {exc}") from exc
        if not proto.HasField("graph") or not proto.opset_import:
            raise NotOnnx("the artifact is not an ONNX model (no graph or opset)")
        check_safe(proto, allowed_domains, max_nodes)
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(data, options, providers=list(providers))
        except Exception as exc:  # onnxruntime raises its own untyped Fail/InvalidGraph errors
            raise NotOnnx(f"onnxruntime cannot open the model: {exc}") from exc
        check_signature(session, signature)
        return cls(session, signature)

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model; returns every declared output."""
        session = self.session
        if session is None:
            raise InferenceFailed("the model is unloaded")
        try:
            results = session.run(self.output_names, inputs)
        except InvalidArgument as exc:
            raise InvalidRequest(
                f"the model rejected the inputs: {exc}", violation="shape"
            ) from exc
        except Exception as exc:  # onnxruntime's errors are untyped
            raise InferenceFailed(f"onnxruntime failed: {exc}") from exc
        return dict(zip(self.output_names, results, strict=True))

    def unload(self) -> None:
        """Drop the session."""
        self.session = None
