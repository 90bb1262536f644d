"""KServe's Python model server serving an ONNX model with onnxruntime (a benchmark peer).

Run by the benchmark with the interpreter of its own venv under `.run/bench-kserve-venv`
(`kserve` from PyPI); it never runs inside the workspace. KServe's Python server has no ONNX
runtime of its own (its ONNX path on Kubernetes is Triton), so this is its custom-model path,
what a user of KServe would write: a `kserve.Model` whose `load` opens the session and whose
`predict` takes the v2 `InferRequest`, runs it and answers an `InferResponse`. Started as
`python kserve_peer.py --model_name bench --model_path model.onnx --http_port N` plus KServe's
own server flags (the benchmark turns off gRPC, the per-request latency log and KServe's logging
set-up, so no access line is written per request: settings that spare it per-request work).
"""

# mypy: ignore-errors
from __future__ import annotations

import argparse
import uuid

import onnxruntime as ort
from kserve import Model, ModelServer, model_server
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse


class OnnxModel(Model):
    """One onnxruntime session, inline in the predict call."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.ready = False

    def load(self) -> bool:
        """Open the session with one intra-op thread, like the runtime under test."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers=None) -> InferResponse:
        """Decode with `as_numpy`, run, encode as JSON data."""
        feeds = {i.name: i.as_numpy() for i in payload.inputs}
        results = self.session.run(self.outputs, feeds)
        outputs = []
        for name, result in zip(self.outputs, results, strict=True):
            output = InferOutput(name=name, shape=list(result.shape), datatype="FP32")
            output.set_data_from_numpy(result, binary_data=False)
            outputs.append(output)
        return InferResponse(
            response_id=payload.id or str(uuid.uuid4()), model_name=self.name, infer_outputs=outputs
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_path", required=True)
    args, _ = parser.parse_known_args()
    model = OnnxModel(args.model_name, args.model_path)
    model.load()
    ModelServer().start([model])
