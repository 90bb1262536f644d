"""Tiny, deterministic ONNX models built at test time (no binary model files in git).

Shared by every component's tests: the serving runtime, the operator's artifact verification, the
facade's upload path and the drift engine. Each builder returns an `onnx.ModelProto` made with
the `onnx.helper` API from a seeded random generator, so the same call always gives the same bytes
and the same sha256 digest. `model_bytes` / `write_model` turn a model into what an artifact store
holds. The `signature_of` helper gives the OIP signature (name, datatype, shape) a ModelVersion
would declare for the model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
ML_OPSET = 3
IR_VERSION = 9

_OIP_TYPES: dict[int, str] = {
    TensorProto.FLOAT: "FP32",
    TensorProto.DOUBLE: "FP64",
    TensorProto.INT64: "INT64",
    TensorProto.INT32: "INT32",
    TensorProto.BOOL: "BOOL",
    TensorProto.STRING: "BYTES",
}


def _weights(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(0.0, 0.5, size=shape).astype(np.float32)


def _finish(graph: onnx.GraphProto, *, ml: bool = False) -> onnx.ModelProto:
    opsets = [helper.make_opsetid("", OPSET)]
    if ml:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ML_OPSET))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="modelplane-tests")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def linear_model(
    n_features: int = 20, *, logistic: bool = True, seed: int = 0, labelled: bool = False
) -> onnx.ModelProto:
    """A linear (or logistic) regression: FP32 `x` [-1, n] → FP32 `y` [-1, 1]; `labelled` adds
    INT64 `label` [-1], 1 where z > 0 (y > 0.5 for the logistic one) else 0, as sklearn-onnx's
    classifiers answer a class beside the scores."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(_weights(rng, n_features, 1), "w")
    b = numpy_helper.from_array(_weights(rng, 1), "b")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["z"]),
    ]
    nodes.append(helper.make_node("Sigmoid" if logistic else "Identity", ["z"], ["y"]))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])]
    initializers = [w, b]
    if labelled:
        initializers.append(numpy_helper.from_array(np.zeros(1, np.float32), "zero"))
        initializers.append(numpy_helper.from_array(np.array([-1], np.int64), "flat"))
        nodes += [
            helper.make_node("Greater", ["z", "zero"], ["positive"]),
            helper.make_node("Cast", ["positive"], ["label_2d"], to=TensorProto.INT64),
            helper.make_node("Reshape", ["label_2d", "flat"], ["label"]),
        ]
        outputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_features])],
        outputs,
        initializer=initializers,
    )
    return _finish(graph)


def mlp_model(
    n_features: int = 20, hidden: tuple[int, ...] = (64, 64), n_classes: int = 2, seed: int = 1
) -> onnx.ModelProto:
    """A small ReLU MLP with softmax: FP32 `x` [-1, n] → FP32 `probabilities` [-1, classes]."""
    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    current, width = "x", n_features
    sizes = [*hidden, n_classes]
    for i, size in enumerate(sizes):
        inits += [
            numpy_helper.from_array(_weights(rng, width, size), f"w{i}"),
            numpy_helper.from_array(_weights(rng, size), f"b{i}"),
        ]
        nodes += [
            helper.make_node("MatMul", [current, f"w{i}"], [f"m{i}"]),
            helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
        ]
        if i < len(sizes) - 1:
            nodes.append(helper.make_node("Relu", [f"a{i}"], [f"h{i}"]))
            current = f"h{i}"
        width = size
    nodes.append(helper.make_node("Softmax", [f"a{len(sizes) - 1}"], ["probabilities"], axis=-1))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_classes])],
        initializer=inits,
    )
    return _finish(graph)


CATEGORIES = ("red", "green", "blue")


def mixed_input_model(seed: int = 2) -> onnx.ModelProto:
    """Numeric, INT64 and categorical inputs: FP32 `amount` [-1, 2], INT64 `count` [-1, 1] and
    BYTES `color` [-1, 1] (one of `CATEGORIES`, others code as -1) → FP32 `score` [-1, 1] and
    INT64 `color_code` [-1, 1]."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(_weights(rng, 4, 1), "w")
    nodes = [
        helper.make_node(
            "LabelEncoder",
            ["color"],
            ["color_code"],
            domain="ai.onnx.ml",
            keys_strings=list(CATEGORIES),
            values_int64s=[0, 1, 2],
            default_int64=-1,
        ),
        helper.make_node("Cast", ["color_code"], ["color_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["count"], ["count_f"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["amount", "count_f", "color_f"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "w"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mixed",
        [
            helper.make_tensor_value_info("amount", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("count", TensorProto.INT64, ["batch", 1]),
            helper.make_tensor_value_info("color", TensorProto.STRING, ["batch", 1]),
        ],
        [
            helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1]),
            helper.make_tensor_value_info("color_code", TensorProto.INT64, ["batch", 1]),
        ],
        initializer=[w],
    )
    return _finish(graph, ml=True)


def custom_op_model() -> onnx.ModelProto:
    """A model that uses an operator from a custom domain (what a safe server must refuse)."""
    graph = helper.make_graph(
        [helper.make_node("Evil", ["x"], ["y"], domain="com.example.custom")],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", OPSET),
            helper.make_opsetid("com.example.custom", 1),
        ],
    )
    model.ir_version = IR_VERSION
    return model


def external_data_model(directory: Path, n_features: int = 4) -> onnx.ModelProto:
    """A linear model whose weights live in an external-data file next to it in `directory`."""
    model = linear_model(n_features, logistic=False)
    onnx.save_model(
        model,
        directory / "external.onnx",
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    return onnx.load_model(directory / "external.onnx", load_external_data=False)


def model_bytes(model: onnx.ModelProto) -> tuple[bytes, str]:
    """The serialized model and its sha256 hex digest."""
    data = model.SerializeToString()
    return data, hashlib.sha256(data).hexdigest()


def write_model(model: onnx.ModelProto, path: Path) -> tuple[Path, str]:
    """Write the model to `path`; return the path and its sha256 hex digest."""
    data, digest = model_bytes(model)
    path.write_bytes(data)
    return path, digest


def signature_of(model: onnx.ModelProto) -> dict[str, Any]:
    """The OIP signature of the model's graph (symbolic dims become -1)."""

    def spec(value: onnx.ValueInfoProto) -> dict[str, Any]:
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        return {
            "name": value.name,
            "datatype": _OIP_TYPES[tensor.elem_type],
            "shape": shape,
        }

    return {
        "inputs": [spec(v) for v in model.graph.input],
        "outputs": [spec(v) for v in model.graph.output],
    }


def slow_model(n_features: int = 1024, layers: int = 200, seed: int = 3) -> onnx.ModelProto:
    """A deliberately slow model (a chain of `layers` MatMul+Tanh sharing one weight matrix):
    FP32 `x` [-1, n] → FP32 `y` [-1, n]. Tens of milliseconds per row on one core; for tests of
    batching, draining and timeouts that need requests to be in flight for a while."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 1.0 / np.sqrt(n_features), size=(n_features, n_features))
    nodes, current = [], "x"
    for i in range(layers):
        nodes += [
            helper.make_node("MatMul", [current, "w"], [f"m{i}"]),
            helper.make_node("Tanh", [f"m{i}"], [f"t{i}"]),
        ]
        current = f"t{i}"
    nodes.append(helper.make_node("Identity", [current], ["y"]))
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n_features])],
        initializer=[numpy_helper.from_array(w.astype(np.float32), "w")],
    )
    return _finish(graph)
