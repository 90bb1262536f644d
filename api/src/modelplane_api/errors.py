"""Domain errors: each carries its HTTP status and a stable machine-readable code.

Services raise these; one exception handler in `main.py` turns them into the error envelope.
Codes are part of the API (clients branch on them), messages are for humans.
"""

# STYLE.md names errors <Noun><Problem> (ModelNotFound), not <Name>Error.
# ruff: noqa: N818

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the facade reports on purpose."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    persist_changes: ClassVar[bool] = False
    """When true the session commits the request's writes before the error is answered."""

    def __init__(self, message: str, details: Any = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


class BadRequest(DomainError):
    status_code = 400
    code = "bad_request"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self, message: str = "authentication required", details: Any = None):
        super().__init__(message, details, headers={"WWW-Authenticate": "Bearer"})


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class InvalidToken(NotAuthenticated):
    code = "invalid_token"


class RefreshTokenReused(NotAuthenticated):
    """A rotated refresh token came back: the family is revoked and that must stick."""

    code = "refresh_token_reused"
    persist_changes = True


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class AlreadyExists(DomainError):
    status_code = 409
    code = "already_exists"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class InvalidModel(DomainError):
    """An uploaded artifact the ONNX policy refuses; `details.reason` is the policy's reason.
    400 like every rule beyond the OpenAPI schema (which can only say "a file")."""

    status_code = 400
    code = "invalid_model"


class ClusterRejected(DomainError):
    """Kubernetes (its validation, an admission webhook or RBAC) refused a write: permanent.
    400 (a rule beyond the OpenAPI schema), or the cluster's 403 / 409."""

    status_code = 400
    code = "cluster_rejected"

    def __init__(self, message: str, details: Any = None, *, status: int = 400) -> None:
        super().__init__(message, details)
        self.status_code = {403: 403, 409: 409}.get(status, 400)  # type: ignore[misc]


class GitOpsManaged(Conflict):
    """The organization's resources are owned by a GitOps tool: change them in Git."""

    code = "gitops_managed"


class InvalidRows(DomainError):
    """Rows of a batch that cannot be stored (`details.rows` names each); nothing was written."""

    status_code = 400
    code = "invalid_rows"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int):
        super().__init__(
            "too many requests",
            {"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


class BadGateway(DomainError):
    """A server the facade forwards to (MLflow) failed on a call the facade accepted."""

    status_code = 502
    code = "bad_gateway"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "service_unavailable"


class UploadsBusy(ServiceUnavailable):
    """Every upload slot of this facade is checking a file: memory stays bounded per process."""

    code = "uploads_busy"

    def __init__(self, slots: int, retry_after: int = 5) -> None:
        super().__init__(
            f"{slots} uploads are being checked already; try again in {retry_after} s",
            {"retry_after": retry_after, "slots": slots},
            headers={"Retry-After": str(retry_after)},
        )


class ClusterUnavailable(ServiceUnavailable):
    code = "cluster_unavailable"


class MetricsUnavailable(ServiceUnavailable):
    """Prometheus is not configured, unreachable or too slow: serving metrics cannot be read."""

    code = "metrics_unavailable"


class NamespaceNotReady(ClusterUnavailable):
    """The organization's namespace does not exist yet (the operator has not provisioned it):
    a write there waits and is retried like any other outage."""

    code = "namespace_not_ready"
