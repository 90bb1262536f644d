"""MLServer custom runtime serving an ONNX model with onnxruntime (the benchmark's peer).

Copied into the peer's model folder by the benchmark and imported by MLServer, in its own venv
under `.run/bench-venv`; it never runs inside the workspace. It is what a user of MLServer would
write: decode the inputs with NumpyCodec, `session.run`, encode the outputs.
"""

# mypy: ignore-errors
from __future__ import annotations

import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class OnnxRuntime(MLModel):
    """One onnxruntime session, inline in the predict coroutine."""

    async def load(self) -> bool:
        """Open the session with one intra-op thread, like the runtime under test."""
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            self.settings.parameters.uri, options, providers=["CPUExecutionProvider"]
        )
        self._outputs = [o.name for o in self._session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        """Decode, run, encode."""
        feeds = {i.name: NumpyCodec.decode_input(i) for i in payload.inputs}
        results = self._session.run(self._outputs, feeds)
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            outputs=[
                NumpyCodec.encode_output(n, r) for n, r in zip(self._outputs, results, strict=True)
            ],
        )
