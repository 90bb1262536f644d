"""The one ONNX model a serving pod runs: safety checks, signature check, `session.run`.

`OnnxModel.load` runs the platform's one ONNX policy (`modelplane_onnx`, the same the facade and
the operator run, with the limits the operator passes): parse from bytes (never from a path, so
external-data references cannot reach the file system), refuse external-data tensors, custom-op
domains and oversized graphs (the recurring ONNX CVE classes, see shared/notes/security.md), open
an onnxruntime session and check the declared signature against it. Nothing is unpickled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

import modelplane_onnx as onnx_policy
from modelplane_runtime.errors import (
    ArtifactError,
    InferenceFailed,
    InvalidRequest,
    NotOnnx,
    SignatureMismatch,
    UnsafeModel,
)
from modelplane_runtime.settings import Signature

_REFUSALS: dict[str, type[ArtifactError]] = {
    onnx_policy.NOT_ONNX: NotOnnx,
    onnx_policy.INVALID_MODEL: UnsafeModel,
    onnx_policy.SIGNATURE_MISMATCH: SignatureMismatch,
}
"""The shared policy's reasons → the runtime's errors (and their start-up reasons)."""


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
        limits = onnx_policy.Limits(max_nodes, frozenset(allowed_domains))
        try:
            onnx_policy.check_safe(onnx_policy.parse(data), limits)
            session = onnx_policy.open_session(
                data, providers=providers, intra_op_threads=intra_op_threads, optimize=True
            )
            onnx_policy.check_signature(session, signature.inputs, signature.outputs)
        except onnx_policy.ModelRefused as refused:
            raise _REFUSALS.get(refused.reason, UnsafeModel)(refused.message) from refused
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
