"""The response envelope every endpoint answers with (shared/DESIGN.md, conventions).

Success: `{"success": true, "data": …, "metadata": {"timestamp", "request_id"}}` (lists add
`meta`); error: `{"success": false, "error": {"code", "message", "details"}, "metadata": …}`.
Routes call `ok(...)` / `page(...)`; the request id comes from the request-context middleware.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


class Metadata(BaseModel):
    timestamp: datetime
    request_id: str


class PageMeta(BaseModel):
    page: int
    limit: int
    total: int
    pages: int


class CursorMeta(BaseModel):
    limit: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null at the end."
    )


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T
    metadata: Metadata


class PageEnvelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: list[T]
    meta: PageMeta
    metadata: Metadata


class CursorEnvelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: list[T]
    meta: CursorMeta
    metadata: Metadata


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorBody
    metadata: Metadata


def metadata() -> Metadata:
    """Metadata of the current request."""
    return Metadata(timestamp=datetime.now(UTC), request_id=request_id_var.get())


def ok(data: T) -> Envelope[T]:
    """Wrap one result."""
    return Envelope[T](data=data, metadata=metadata())


def page(data: list[T], *, page: int, limit: int, total: int) -> PageEnvelope[T]:
    """Wrap one page of an offset-paginated list."""
    pages = (total + limit - 1) // limit if total else 0
    return PageEnvelope[T](
        data=data,
        meta=PageMeta(page=page, limit=limit, total=total, pages=pages),
        metadata=metadata(),
    )


def cursor_page(data: list[T], *, limit: int, next_cursor: str | None) -> CursorEnvelope[T]:
    """Wrap one page of a cursor-paginated list."""
    return CursorEnvelope[T](
        data=data, meta=CursorMeta(limit=limit, next_cursor=next_cursor), metadata=metadata()
    )


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON-ready error envelope."""
    return ErrorEnvelope(
        error=ErrorBody(code=code, message=message, details=details), metadata=metadata()
    ).model_dump(mode="json")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in {
        400: "Bad request",
        401: "Not authenticated",
        403: "Permission denied",
        404: "Not found",
        409: "Conflict",
        422: "Validation error",
        429: "Rate limited",
        502: "A server the facade forwards to failed",
        503: "A dependency is unavailable",
    }.items()
}
