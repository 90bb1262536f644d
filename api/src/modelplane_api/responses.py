"""JSON encoding of envelopes outside FastAPI's response models (errors, middleware)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


def json_bytes(content: Any) -> bytes:
    """Compact JSON bytes."""
    return orjson.dumps(content)


def error_response(
    content: dict[str, Any], status_code: int, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON error envelope response."""
    return Response(
        json_bytes(content), status_code=status_code, headers=headers, media_type="application/json"
    )
