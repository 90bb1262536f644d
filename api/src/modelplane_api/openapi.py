"""The facade's OpenAPI document, built from `create_app(...)` without serving or connecting.

`make generate` writes it to `api/openapi.json`, the source of the dashboard's TypeScript types
(`frontend/src/lib/api/schema.d.ts`). The settings are placeholders: building the app opens no
connection, and nothing in the document depends on them.
"""

from __future__ import annotations

import json
from typing import Any

from modelplane_api.main import create_app
from modelplane_api.security import generate_jwt_key
from modelplane_api.settings import Settings


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the facade serves at `/openapi.json`."""
    settings = Settings(
        database_url="postgresql+psycopg://openapi@127.0.0.1:1/openapi",
        redis_url="redis://127.0.0.1:1/0",
        jwt_keys=[json.loads(generate_jwt_key("openapi"))],
        kubernetes_enabled=False,
        background_tasks=False,
    )
    return create_app(settings).openapi()


def render_openapi() -> str:
    """The document as stable JSON text (2-space indent, trailing newline)."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
