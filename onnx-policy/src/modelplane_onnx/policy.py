"""Whether an ONNX file is acceptable, decided one way for every component.

The facade runs it at upload, the operator when it verifies a ModelVersion, the serving runtime
when a pod loads the model; all three pass the same platform limits (the operator hands its
limits to the pods it creates), so a version that is Ready is one its pods will load.

The steps, each failing with a stable reason (the ModelVersion condition reasons):

1. `parse`: an ONNX protobuf with an IR version, a graph and an opset (`NotOnnx`), from bytes
   only, never from a path, so external-data references cannot reach a file system;
2. `check_safe`: what shared/notes/security.md lists as dangerous (`InvalidModel`): tensors with
   external data (the path-traversal CVE family), operator domains outside the allow-list (custom
   ops), more nodes than the limit; nodes of sub-graphs, local functions and training graphs
   (`training_info`) count too, and their tensors must be embedded as well;
3. `open_session`: onnxruntime opens it with optimizations off, nothing run (`InvalidModel`);
4. `signature_problems`: the declared signature against the session (`SignatureMismatch`):
   inputs match exactly, declared outputs exist with the declared type and shape, a declared `-1`
   accepts any size, a graph's dynamic dimension accepts any declared size.

`inspect` runs them over bytes in memory; `inspect_file` over a file the caller owns (the
facade's spooled upload) without ever reading its big weights: steps 1–2 run on the graph's
structure read past the tensors' raw data (`skeleton`), then onnxruntime opens the graph with
those weights as inputs of their type and shape (`hollow`; it copies any weight it is given), or
the file itself when anything is unusual or that graph is refused, so a refusal is the file's
own. `open_checked_file` (the operator) always has onnxruntime load the whole file. onnxruntime
only ever sees a file whose tensors `check_safe` found embedded, so no external-data path is
resolved.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from modelplane_onnx.skeleton import hollow, skeleton

NOT_ONNX = "NotOnnx"
INVALID_MODEL = "InvalidModel"
SIGNATURE_MISMATCH = "SignatureMismatch"
DEFAULT_MAX_NODES = 100_000
DEFAULT_ALLOWED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})

ORT_TYPES = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(float16)": "FP16",
    "tensor(int64)": "INT64",
    "tensor(int32)": "INT32",
    "tensor(int16)": "INT16",
    "tensor(int8)": "INT8",
    "tensor(uint64)": "UINT64",
    "tensor(uint32)": "UINT32",
    "tensor(uint16)": "UINT16",
    "tensor(uint8)": "UINT8",
    "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}
"""onnxruntime's type names → Open Inference Protocol datatypes."""


class ModelRefused(Exception):  # noqa: N818 - a verdict with a reason, like the conditions
    """The model is not acceptable; `reason` is NotOnnx, InvalidModel or SignatureMismatch."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Limits:
    """Platform-wide limits that apply whatever a ModelVersion says."""

    max_nodes: int = DEFAULT_MAX_NODES
    allowed_domains: frozenset[str] = field(default=DEFAULT_ALLOWED_DOMAINS)


class TensorLike(Protocol):
    """A declared tensor: the CRD's TensorSpec, the runtime's, or `Tensor`."""

    @property
    def name(self) -> str: ...

    @property
    def datatype(self) -> str: ...

    @property
    def shape(self) -> Sequence[int]: ...


@dataclass(frozen=True)
class Tensor:
    """An input or output as the graph has it; `-1` is a dynamic dimension."""

    name: str
    datatype: str
    shape: tuple[int, ...]


Described = Tensor | str
"""A graph argument: a tensor, or the text `name (type)` for something that is not a tensor."""


def parse(data: bytes) -> Any:
    """The ModelProto of `data`, or ModelRefused(NotOnnx)."""
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    try:
        model = onnx.ModelProto.FromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelRefused(NOT_ONNX, f"the artifact is not an ONNX model: {exc}") from exc
    return _require_model(model)


def _require_model(model: Any) -> Any:
    if model.ir_version <= 0 or not model.HasField("graph") or not model.opset_import:
        raise ModelRefused(
            NOT_ONNX, "the artifact is not an ONNX model (no IR version, graph or opset)"
        )
    return model


def _graphs(graph: Any) -> Iterator[Any]:
    yield graph
    yield from _subgraphs(graph.node)


def _subgraphs(nodes: Sequence[Any]) -> Iterator[Any]:
    for node in nodes:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def _model_graphs(model: Any) -> Iterator[Any]:
    """Every graph a model holds: the inference graph, the training graphs
    (`training_info`: initialization and algorithm, initializers included, which onnxruntime
    never loads but other tools do), and the sub-graphs of all of them and of local functions."""
    yield from _graphs(model.graph)
    for training in model.training_info:
        for part in ("initialization", "algorithm"):
            if training.HasField(part):
                yield from _graphs(getattr(training, part))
    for function in model.functions:
        yield from _subgraphs(function.node)


def _tensors(nodes: Sequence[Any], graphs: Sequence[Any]) -> Iterator[Any]:
    for graph in graphs:
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
    for node in nodes:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            sparse_tensors = list(attribute.sparse_tensors)
            if attribute.HasField("sparse_tensor"):
                sparse_tensors.append(attribute.sparse_tensor)
            for sparse in sparse_tensors:
                yield sparse.values
                yield sparse.indices


def check_safe(model: Any, limits: Limits) -> None:
    """Refuse external data, custom-op domains and oversized graphs (ModelRefused)."""
    import onnx

    graphs = list(_model_graphs(model))
    nodes = [node for graph in graphs for node in graph.node]
    nodes += [node for function in model.functions for node in function.node]
    if len(nodes) > limits.max_nodes:
        raise ModelRefused(
            INVALID_MODEL, f"the graph has {len(nodes)} nodes, more than {limits.max_nodes}"
        )
    external = [
        tensor.name or "(unnamed)"
        for tensor in _tensors(nodes, graphs)
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data) > 0
    ]
    if external:
        raise ModelRefused(
            INVALID_MODEL,
            "tensors with external data are refused (embed the weights in the file): "
            + ", ".join(sorted(external)[:5]),
        )
    domains = {opset.domain for opset in model.opset_import} | {node.domain for node in nodes}
    domains |= {opset.domain for function in model.functions for opset in function.opset_import}
    custom = sorted(domains - limits.allowed_domains)
    if custom:
        raise ModelRefused(
            INVALID_MODEL,
            f"custom operator domains are refused: {', '.join(custom)} (allowed: "
            f"{', '.join(repr(d) for d in sorted(limits.allowed_domains))})",
        )


def open_session(
    data: bytes | Path,
    *,
    providers: Sequence[str] = ("CPUExecutionProvider",),
    intra_op_threads: int = 1,
    optimize: bool = False,
) -> Any:
    """An onnxruntime session over `data`, bytes or a file (ModelRefused(InvalidModel) if it
    cannot open); a file only once `check_safe` passed on its content.

    `optimize=False` is for checking (nothing kept, no arena); serving passes True."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if optimize:
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    else:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        # Kernels pre-pack their weights for speed at session creation; a skinny MatMul weight
        # is padded to the GEMM block width on the way (a 90 MiB [n, 1] weight took 1.5 GiB).
        # A check runs nothing, so it packs nothing.
        options.add_session_config_entry("session.disable_prepacking", "1")
    try:
        source = data if isinstance(data, bytes) else str(data)
        return ort.InferenceSession(source, options, providers=list(providers))
    except Exception as exc:  # onnxruntime raises its own untyped errors on a bad graph
        # From a file it names the path (a spool's, of no use to whoever uploaded it): the
        # same message as from bytes.
        message = str(exc)
        if isinstance(data, Path):
            message = message.replace(f"Load model from {data} failed:", "")
        raise ModelRefused(INVALID_MODEL, f"onnxruntime cannot load the model: {message}") from exc


def _describe(arg: Any) -> Described:
    datatype = ORT_TYPES.get(arg.type)
    if datatype is None:
        return f"{arg.name} ({arg.type})"
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape)
    return Tensor(name=arg.name, datatype=datatype, shape=shape)


def describe_session(session: Any) -> tuple[list[Described], list[Described]]:
    """The session's inputs and outputs (ModelRefused(InvalidModel) when onnxruntime cannot
    describe them: ONNX's protobuf does not check that names are UTF-8, so a graph onnxruntime
    opened can still hold a name or symbolic dimension Python cannot decode)."""
    try:
        return [_describe(i) for i in session.get_inputs()], [
            _describe(o) for o in session.get_outputs()
        ]
    except (UnicodeDecodeError, RuntimeError) as exc:
        raise ModelRefused(
            INVALID_MODEL, f"the graph's inputs or outputs cannot be read: {exc}"
        ) from exc


def _compare(
    kind: str, declared: Sequence[TensorLike], actual: Sequence[Described], exact: bool
) -> list[str]:
    problems: list[str] = []
    by_name: dict[str, Described] = {
        (a if isinstance(a, str) else a.name).split(" ", 1)[0]: a for a in actual
    }
    for spec in declared:
        found = by_name.get(spec.name)
        if found is None:
            problems.append(f"{kind} {spec.name!r} is not in the model (it has {sorted(by_name)})")
        elif isinstance(found, str):
            problems.append(f"{kind} {found} is not a tensor")
        else:
            if found.datatype != spec.datatype:
                problems.append(
                    f"{kind} {spec.name!r} is {found.datatype} in the model, declared"
                    f" {spec.datatype}"
                )
            if not _shape_matches(spec.shape, found.shape):
                problems.append(
                    f"{kind} {spec.name!r} has shape {list(found.shape)} in the model, declared"
                    f" {list(spec.shape)}"
                )
    if exact:
        names = {s.name for s in declared}
        for extra in sorted(set(by_name) - names):
            problems.append(f"model {kind} {extra!r} is not declared in the signature")
    return problems


def _shape_matches(declared: Sequence[int], actual: Sequence[int]) -> bool:
    if len(declared) != len(actual):
        return False
    return all(d in (-1, a) or a == -1 for d, a in zip(declared, actual, strict=True))


def signature_problems(
    inputs: Sequence[TensorLike],
    outputs: Sequence[TensorLike],
    actual_inputs: Sequence[Described],
    actual_outputs: Sequence[Described],
) -> list[str]:
    """Differences between a declared signature and the graph (empty when it matches)."""
    return _compare("input", inputs, actual_inputs, exact=True) + _compare(
        "output", outputs, actual_outputs, exact=False
    )


def check_signature(
    session: Any, inputs: Sequence[TensorLike], outputs: Sequence[TensorLike]
) -> None:
    """ModelRefused(SignatureMismatch) when the declared signature does not fit the session."""
    actual_inputs, actual_outputs = describe_session(session)
    problems = signature_problems(inputs, outputs, actual_inputs, actual_outputs)
    if problems:
        raise ModelRefused(SIGNATURE_MISMATCH, "; ".join(problems))


@dataclass(frozen=True)
class OnnxInspection:
    """What an accepted model looks like: its inputs and tensor outputs (a non-tensor output,
    such as scikit-learn's ZipMap, is left out of the signature: it cannot be served)."""

    inputs: list[Tensor]
    outputs: list[Tensor]
    opset: int
    producer: str


def inspect(data: bytes, limits: Limits) -> OnnxInspection:
    """Parse, check and open the model; its signature as the graph has it (ModelRefused)."""
    opset, producer = _check_parsed(parse(data), limits)
    return _inspection(open_session(data), opset, producer)


def inspect_file(path: Path, limits: Limits) -> OnnxInspection:
    """`inspect` of a file the caller owns and nobody changes meanwhile, without holding its
    weights: `check_safe` reads the graph's structure (`skeleton`), onnxruntime opens the graph
    with its big weights as typed inputs (`_hollow_session`), or the file itself."""
    opset, producer = _check_parsed(_structure(path), limits)
    hollowed = _hollow_session(path)
    if hollowed is None:
        return _inspection(open_session(path), opset, producer)
    session, holes = hollowed
    return _inspection(session, opset, producer, holes)


def open_checked_file(path: Path, limits: Limits) -> Any:
    """The onnxruntime session of a file the caller owns, once `check_safe` passed on its
    structure (ModelRefused): `inspect_file` for a caller that compares a declared signature."""
    _check_parsed(_structure(path), limits)
    return open_session(path)


def _structure(path: Path) -> Any:
    """The file's ModelProto without raw data; parsed whole when the walk cannot tell."""
    model = skeleton(path)
    return parse(path.read_bytes()) if model is None else _require_model(model)


HOLLOW_MIN_BYTES = 1024 * 1024
"""Weights at least this big are left out of the graph onnxruntime opens for `inspect_file`."""

_ITEM_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
"""Bytes per element of the TensorProto data types whose raw data is that many bytes each."""


def _hollow_session(path: Path) -> tuple[Any, frozenset[str]] | None:
    """An onnxruntime session over the file's graph whose weights of `HOLLOW_MIN_BYTES` or more
    are graph inputs of their type and shape (`holes`), and their names; None when there is no
    such weight, or any doubt: then onnxruntime opens the file and its verdict stands.

    onnxruntime 1.31 copies every initializer it is given at session creation, from the file's
    parse or from an OrtValue (`add_external_initializers`): 2× a one-weight file at peak. A
    check runs nothing, so it needs a weight's type and shape, never its values (shape tensors
    whose values shape inference reads are a few bytes, far under the threshold). A hollowed
    graph onnxruntime refuses is opened from the file, so every refusal is the file's own."""
    import onnx
    from google.protobuf.message import DecodeError

    found = hollow(path, HOLLOW_MIN_BYTES)
    if found is None or not found[1]:
        return None
    try:
        model = onnx.ModelProto.FromString(found[0])
    except (DecodeError, ValueError, RuntimeError):
        return None
    holes = _holes(model.graph, found[1])
    if holes is None:
        return None
    try:
        return open_session(model.SerializeToString()), holes
    except ModelRefused:
        return None


def _holes(graph: Any, left_out: dict[int, int]) -> frozenset[str] | None:
    """Turn the initializers whose raw data was left out into graph inputs of their type and
    shape; their names, or None when one of them is not a plain embedded tensor whose raw data
    has exactly the size its type and shape say (onnxruntime would judge it from the file)."""
    import math

    import onnx

    names = [t.name for t in graph.initializer]
    taken = {i.name for i in graph.input} | {s.values.name for s in graph.sparse_initializer}
    if len(set(names)) != len(names):
        return None
    chosen = [graph.initializer[index] for index in sorted(left_out)]
    for index, tensor in zip(sorted(left_out), chosen, strict=True):
        item = _ITEM_BYTES.get(tensor.data_type)
        typed = (tensor.float_data, tensor.int32_data, tensor.int64_data, tensor.double_data,
                 tensor.uint64_data, tensor.string_data, tensor.external_data)  # fmt: skip
        if (
            item is None
            or not tensor.name
            or tensor.name in taken
            or tensor.HasField("segment")
            or tensor.data_location != onnx.TensorProto.DEFAULT
            or any(len(values) for values in typed)
            or any(d < 0 for d in tensor.dims)
            or math.prod(tensor.dims) * item != left_out[index]
        ):
            return None
    inputs = [onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in chosen]
    kept = [t for index, t in enumerate(graph.initializer) if index not in left_out]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    graph.input.extend(inputs)
    return frozenset(t.name for t in inputs)


def _check_parsed(model: Any, limits: Limits) -> tuple[int, str]:
    """`check_safe`; the model's opset and producer. The caller keeps no reference to `model`,
    so the parsed copy (about the file's size) is freed before onnxruntime makes its own."""
    check_safe(model, limits)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    return int(opset), str(model.producer_name or "")


def _inspection(
    session: Any, opset: int, producer: str, holes: frozenset[str] = frozenset()
) -> OnnxInspection:
    inputs, outputs = describe_session(session)
    inputs = [
        a for a in inputs if (a.rsplit(" (", 1)[0] if isinstance(a, str) else a.name) not in holes
    ]
    bad_inputs = [a for a in inputs if isinstance(a, str)]
    if bad_inputs:
        raise ModelRefused(
            INVALID_MODEL, f"only tensor inputs can be served; the graph has {bad_inputs}"
        )
    tensors = [a for a in outputs if isinstance(a, Tensor)]
    if not tensors:
        raise ModelRefused(
            INVALID_MODEL,
            f"the graph has no tensor output ({outputs}); from scikit-learn, convert with "
            "skl2onnx options={id(model): {'zipmap': False}}",
        )
    return OnnxInspection(
        inputs=[a for a in inputs if isinstance(a, Tensor)],
        outputs=tensors,
        opset=opset,
        producer=producer,
    )
