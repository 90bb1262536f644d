"""Errors of the serving runtime: one base class that carries its HTTP status code.

The data plane raises these; `rest.py` turns any of them into the OIP error body
`{"error": "<message>"}` with `status_code`, so bad input is always a 4xx and never a crash.
Start-up failures (`ArtifactError` and its subclasses) carry a stable CamelCase `reason`, the
same words the operator uses in ModelVersion conditions, and make `main()` exit non-zero.
Causes are kept with `raise … from exc`.
"""

# ruff: noqa: N818 - STYLE.md names errors <Noun><Problem> (ModelNotFound), not *Error
from __future__ import annotations


class ModelplaneRuntimeError(Exception):
    """Base of every error the runtime raises on purpose."""

    status_code = 500
    reason = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ModelplaneRuntimeError):
    """The request is not a valid OIP inference request for this model (400)."""

    status_code = 400
    reason = "InvalidRequest"

    def __init__(self, message: str, *, violation: str = "invalid") -> None:
        super().__init__(message)
        self.violation = violation
        """Short label of the kind of schema violation, used as a metric label."""


class ModelNotFound(ModelplaneRuntimeError):
    """No model (or no such version) with that name is served here (404)."""

    status_code = 404
    reason = "ModelNotFound"


class RouteNotFound(ModelplaneRuntimeError):
    """The path is not part of the protocol (404)."""

    status_code = 404
    reason = "NotFound"


class MethodNotAllowed(ModelplaneRuntimeError):
    """The path exists but not for this HTTP method (405)."""

    status_code = 405
    reason = "MethodNotAllowed"


class ModelNotReady(ModelplaneRuntimeError):
    """The model is not loaded (yet, or any more) (503)."""

    status_code = 503
    reason = "ModelNotReady"


class InferenceFailed(ModelplaneRuntimeError):
    """onnxruntime failed on input that passed validation (500, logged with its cause)."""

    status_code = 500
    reason = "InferenceFailed"


class ArtifactError(ModelplaneRuntimeError):
    """The model artifact cannot be served; the runtime refuses to start."""

    reason = "ArtifactInvalid"


class ArtifactUnreachable(ArtifactError):
    """The artifact does not exist or its store cannot be read."""

    reason = "ArtifactUnreachable"


class ArtifactTooLarge(ArtifactError):
    """The artifact is larger than the configured limit."""

    reason = "ArtifactTooLarge"


class DigestMismatch(ArtifactError):
    """The artifact's sha256 is not the declared one."""

    reason = "DigestMismatch"


class NotOnnx(ArtifactError):
    """The artifact is not a loadable ONNX model."""

    reason = "NotOnnx"


class UnsafeModel(ArtifactError):
    """The model uses external-data tensors, custom-op domains or too many nodes."""

    reason = "UnsafeModel"


class SignatureMismatch(ArtifactError):
    """The declared signature does not match the graph's inputs and outputs."""

    reason = "SignatureMismatch"


class ConfigurationError(ModelplaneRuntimeError):
    """The settings are invalid (bad JSON in a setting, missing required value)."""

    reason = "InvalidConfiguration"
