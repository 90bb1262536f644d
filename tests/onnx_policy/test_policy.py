"""The shared ONNX policy: what the facade, the operator and the runtime all accept or refuse."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import modelplane_onnx as policy
from modelplane_cli.demo import build_model
from modelplane_onnx.skeleton import hollow, skeleton
from tests.onnx_models import custom_op_model, linear_model


def test_inspect_reads_the_signature_from_the_graph() -> None:
    found = policy.inspect(build_model(), policy.Limits())
    assert found.inputs == [policy.Tensor("input", "FP32", (-1, 4))]
    assert found.outputs == [
        policy.Tensor("label", "INT64", (-1,)),
        policy.Tensor("probabilities", "FP32", (-1, 2)),
    ]
    assert found.opset == 17


def test_bytes_that_are_not_onnx_are_refused() -> None:
    with pytest.raises(policy.ModelRefused) as info:
        policy.inspect(b"\x80\x04 not a model", policy.Limits())
    assert info.value.reason == policy.NOT_ONNX


def _with_function(domain: str) -> bytes:
    """A model whose only node calls a local function of `domain` (how torch exports)."""
    function = helper.make_function(
        domain, "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
        opset_imports=[helper.make_opsetid("", 17)],
    )  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("Twice", ["x"], ["y"], domain=domain)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [-1, 2])],
    )
    model = helper.make_model(
        graph,
        functions=[function],
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(domain, 1)],
    )
    model.ir_version = 8
    return bytes(model.SerializeToString())


def test_local_function_nodes_count_and_their_domain_must_be_allowed() -> None:
    data = _with_function("local.fn")
    with pytest.raises(policy.ModelRefused, match=r"domains are refused: local\.fn"):
        policy.check_safe(policy.parse(data), policy.Limits())
    allowed = policy.Limits(allowed_domains=policy.DEFAULT_ALLOWED_DOMAINS | {"local.fn"})
    assert policy.inspect(data, allowed).outputs == [policy.Tensor("y", "FP32", (-1, 2))]
    with pytest.raises(policy.ModelRefused, match="2 nodes, more than 1"):
        policy.check_safe(policy.parse(data), policy.Limits(1, allowed.allowed_domains))


def test_external_data_is_refused_whatever_the_limits() -> None:
    model = linear_model(4)
    tensor = model.graph.initializer[0]
    tensor.data_location = onnx.TensorProto.EXTERNAL
    with pytest.raises(policy.ModelRefused) as info:
        policy.check_safe(model, policy.Limits())
    assert info.value.reason == policy.INVALID_MODEL
    assert "external data" in info.value.message


def test_signature_rules_are_one_rule() -> None:
    session = policy.open_session(build_model())
    declared_in = [policy.Tensor("input", "FP32", (-1, -1))]
    policy.check_signature(session, declared_in, [policy.Tensor("label", "INT64", (-1,))])
    with pytest.raises(policy.ModelRefused) as info:
        policy.check_signature(
            session, [policy.Tensor("input", "FP64", (-1, 4))], [policy.Tensor("x", "FP32", (1,))]
        )
    assert info.value.reason == policy.SIGNATURE_MISMATCH
    assert "is FP32 in the model, declared FP64" in info.value.message
    assert "output 'x' is not in the model" in info.value.message


def test_a_symbolic_dimension_that_is_not_utf8_is_refused_not_a_crash() -> None:
    """Found by tests/api/test_fuzz.py: onnxruntime opens the graph, then Python cannot decode
    an input's symbolic dimension (ONNX's protobuf does not check UTF-8)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["Z\u00e99q", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["Z\u00e99q", 4])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data = model.SerializeToString()
    broken = data.replace(b"Z\xc3\xa99q", b"Z\xc1\xa99q")
    assert broken != data
    with pytest.raises(policy.ModelRefused) as refused:
        policy.inspect(
            broken, policy.Limits(policy.DEFAULT_MAX_NODES, policy.DEFAULT_ALLOWED_DOMAINS)
        )
    assert refused.value.reason == policy.INVALID_MODEL


def _sparse_constant(external: bool) -> bytes:
    """A Constant whose value is a sparse tensor (its values optionally marked external)."""
    values = helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])
    if external:
        values.data_location = TensorProto.EXTERNAL
        values.ClearField("float_data")
        values.external_data.add(key="location", value="../../etc/passwd")
    indices = helper.make_tensor("i", TensorProto.INT64, [1], [0])
    sparse = helper.make_sparse_tensor(values, indices, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    node = helper.make_node("Constant", [], ["y"], sparse_value=sparse)
    graph = helper.make_graph([node], "g", [], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def test_external_data_in_a_sparse_attribute_is_refused_too() -> None:
    policy.check_safe(policy.parse(_sparse_constant(external=False)), policy.Limits())
    with pytest.raises(policy.ModelRefused, match=r"external data.*: v"):
        policy.check_safe(policy.parse(_sparse_constant(external=True)), policy.Limits())


@pytest.mark.parametrize(
    "data",
    [
        build_model(),
        b"\x80\x04 not a model",
        custom_op_model().SerializeToString(),
        _with_function("local.fn"),
        _sparse_constant(external=True),
    ],
    ids=["accepted", "not-onnx", "custom-op", "function-domain", "sparse-external"],
)
def test_a_file_gets_the_verdict_its_bytes_get(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    try:
        expected: object = policy.inspect(data, policy.Limits())
    except policy.ModelRefused as refused:
        expected = (refused.reason, refused.message)
    try:
        found: object = policy.inspect_file(path, policy.Limits())
    except policy.ModelRefused as refused:
        found = (refused.reason, refused.message)
    assert found == expected


def _verdict(check: Callable[[], policy.OnnxInspection]) -> object:
    try:
        return check()
    except policy.ModelRefused as refused:
        # onnxruntime's error text about a name it cannot decode contains the file's path when
        # it read a file, so the offset it reports into that text differs from the bytes' one
        return (refused.reason, re.sub(r"in position \d+", "in position N", refused.message))


def test_a_damaged_file_gets_the_verdict_its_bytes_get(tmp_path: Path) -> None:
    """The file's structure is read past the weights; protobuf still decides what is malformed."""
    data = linear_model(8).SerializeToString()
    damaged = [data[:cut] for cut in range(0, len(data), 7)]
    damaged += [data[:at] + bytes([value]) + data[at + 1 :] for at in range(0, len(data), 5)
                for value in (0x00, 0x7F, 0xFF)]  # fmt: skip
    path = tmp_path / "model.onnx"
    for variant in damaged:
        path.write_bytes(variant)
        expected = _verdict(lambda: policy.inspect(variant, policy.Limits()))  # noqa: B023
        assert _verdict(lambda: policy.inspect_file(path, policy.Limits())) == expected, variant


def _with_training_weights() -> onnx.ModelProto:
    model = linear_model(8)
    training = model.training_info.add()
    training.initialization.name = "init"
    training.initialization.initializer.append(
        onnx.numpy_helper.from_array(np.ones(64, dtype=np.float32), "state")
    )
    training.algorithm.name = "step"
    return model


@pytest.mark.parametrize(
    "model", [linear_model(8), _with_training_weights()], ids=["inference", "training-info"]
)
def test_the_structure_of_a_file_leaves_out_only_the_raw_data(
    model: onnx.ModelProto, tmp_path: Path
) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    found = skeleton(path)
    assert found is not None
    expected = onnx.ModelProto()
    expected.CopyFrom(model)
    graphs = [expected.graph]
    graphs += [g for t in expected.training_info for g in (t.initialization, t.algorithm)]
    for graph in graphs:
        for tensor in graph.initializer:
            tensor.ClearField("raw_data")
    assert found == expected
    assert found != model


def _with_training_info(graph_field: str, problem: str) -> bytes:
    """An inference graph that is fine, and a training_info graph (`initialization` or
    `algorithm`) with one problem: an external-data tensor, a custom-op node or 3 nodes."""
    model = linear_model(4)
    training = helper.make_graph([], "train", [], [])
    if problem == "external":
        weight = helper.make_tensor("state", TensorProto.FLOAT, [1], [0.0])
        weight.ClearField("float_data")
        weight.data_location = TensorProto.EXTERNAL
        weight.external_data.add(key="location", value="../../etc/passwd")
        training.initializer.append(weight)
    elif problem == "attribute-external":
        value = helper.make_tensor("value", TensorProto.FLOAT, [1], [0.0])
        value.ClearField("float_data")
        value.external_data.add(key="location", value="/etc/shadow")
        training.node.append(helper.make_node("Constant", [], ["c"], value=value))
    elif problem == "custom-op":
        training.node.append(helper.make_node("Steal", ["x"], ["y"], domain="evil.ops"))
    else:
        assert problem == "nodes"
        training.node.extend(helper.make_node("Identity", ["x"], [f"x{i}"]) for i in range(3))
    info = model.training_info.add()
    getattr(info, graph_field).CopyFrom(training)
    return bytes(model.SerializeToString())


@pytest.mark.parametrize("graph_field", ["initialization", "algorithm"])
@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("external", r"external data.*: state"),
        ("attribute-external", r"external data.*: value"),
        ("custom-op", r"domains are refused: evil\.ops"),
        ("nodes", r"6 nodes, more than 5"),
    ],
)
@pytest.mark.parametrize("walk", ["skeleton", "whole-file"])
def test_training_info_graphs_get_the_main_graphs_rules(
    graph_field: str,
    problem: str,
    message: str,
    walk: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ModelProto.training_info holds whole graphs (their initializers included): the rules
    apply to them as to the inference graph, whether the file's structure was read past the
    weights or parsed whole."""
    data = _with_training_info(graph_field, problem)
    # The inference graph has 3 nodes: a limit of 5 passes it alone, not with 3 more.
    limits = policy.Limits(max_nodes=5)
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    if walk == "whole-file":
        monkeypatch.setattr("modelplane_onnx.policy.skeleton", lambda _path: None)
    else:
        assert skeleton(path) is not None
    checks: list[Callable[[], policy.OnnxInspection]] = [
        lambda: policy.inspect(data, limits),
        lambda: policy.inspect_file(path, limits),
    ]
    for check in checks:
        with pytest.raises(policy.ModelRefused, match=message) as refused:
            check()
        assert refused.value.reason == policy.INVALID_MODEL


def _big_weight(variant: str) -> bytes:
    """A linear model whose weight is over `HOLLOW_MIN_BYTES`, with one twist."""
    model = linear_model(policy.HOLLOW_MIN_BYTES // 4 + 1000)
    weight = model.graph.initializer[0]
    if variant == "short-raw-data":
        weight.raw_data = weight.raw_data[:-4]
    elif variant == "declared-as-input":
        model.graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [1, 1]))
    elif variant == "graph-output":
        model.graph.output.append(
            helper.make_tensor_value_info("w", TensorProto.FLOAT, list(weight.dims))
        )
    elif variant == "wrong-type":
        weight.data_type = TensorProto.INT32
    elif variant == "bfloat16-output":  # a type the signature cannot name: described as text
        weight.data_type = TensorProto.BFLOAT16
        weight.dims[0] *= 2
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, 4])
        outputs = [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [-1, 4]),
            helper.make_tensor_value_info("w_out", TensorProto.BFLOAT16, list(weight.dims)),
        ]
        nodes = [helper.make_node("Identity", [i], [o]) for i, o in (("x", "y"), ("w", "w_out"))]
        model.graph.CopyFrom(helper.make_graph(nodes, "g", [x], outputs, [weight]))
    else:
        assert variant == "plain"
    return bytes(model.SerializeToString())


@pytest.mark.parametrize(
    ("variant", "hollowed"),
    [("plain", True), ("graph-output", True), ("bfloat16-output", True),
     # onnxruntime's own verdicts, from the file: the size the raw data should have, a type
     # clash with the input that declares it, a type the operator does not take
     ("short-raw-data", False), ("declared-as-input", False), ("wrong-type", False)],
)  # fmt: skip
def test_a_file_with_big_weights_gets_the_verdict_its_bytes_get(
    variant: str, hollowed: bool, tmp_path: Path
) -> None:
    """onnxruntime opens such a file's graph with its big weights as typed inputs (it would
    copy them otherwise); the verdict, the signature and every refusal's text stay the file's."""
    data = _big_weight(variant)
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    found = hollow(path, policy.HOLLOW_MIN_BYTES)
    assert found is not None
    assert list(found[1]) == [0]
    assert len(found[0]) < len(data) - policy.HOLLOW_MIN_BYTES
    assert (policy.policy._hollow_session(path) is not None) is hollowed
    expected = _verdict(lambda: policy.inspect(data, policy.Limits()))
    assert _verdict(lambda: policy.inspect_file(path, policy.Limits())) == expected
