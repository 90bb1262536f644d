"""The one ONNX acceptance policy, shared by the facade (at upload), the operator (verifying a
ModelVersion) and the serving runtime (loading it), so that what one accepts the others serve."""

from modelplane_onnx.policy import (
    DEFAULT_ALLOWED_DOMAINS,
    DEFAULT_MAX_NODES,
    INVALID_MODEL,
    NOT_ONNX,
    SIGNATURE_MISMATCH,
    Limits,
    ModelRefused,
    OnnxInspection,
    Tensor,
    TensorLike,
    check_safe,
    check_signature,
    describe_session,
    inspect,
    inspect_file,
    open_session,
    parse,
    signature_problems,
)

__all__ = [
    "DEFAULT_ALLOWED_DOMAINS",
    "DEFAULT_MAX_NODES",
    "INVALID_MODEL",
    "NOT_ONNX",
    "SIGNATURE_MISMATCH",
    "Limits",
    "ModelRefused",
    "OnnxInspection",
    "Tensor",
    "TensorLike",
    "check_safe",
    "check_signature",
    "describe_session",
    "inspect",
    "inspect_file",
    "open_session",
    "parse",
    "signature_problems",
]
