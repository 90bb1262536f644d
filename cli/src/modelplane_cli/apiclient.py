"""The dashboard's generated client: the facade's OpenAPI document and its TypeScript types.

`api/openapi.json` is exported from `create_app(...).openapi()` (no server runs);
`frontend/src/lib/api/schema.d.ts` is produced from it by openapi-typescript, the frontend's pinned
dev dependency (installed by `make setup`). Both are committed; `modelplane generate --check`
renders both again and fails when either differs from what is checked in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

OPENAPI = Path("api/openapi.json")
SCHEMA_TS = Path("frontend/src/lib/api/schema.d.ts")
TS_HEADER = (
    "// DO NOT EDIT: generated from api/openapi.json (the facade's OpenAPI document)\n"
    "// by `make generate` (modelplane generate) with openapi-typescript.\n"
)


class ToolMissingError(RuntimeError):
    """The frontend's dependencies (openapi-typescript) are not installed."""


def rendered_files(root: Path) -> dict[Path, str]:
    """Both generated files, by path relative to `root`, with their content."""
    from modelplane_api.openapi import render_openapi

    document = render_openapi()
    return {OPENAPI: document, SCHEMA_TS: TS_HEADER + typescript_types(root, document)}


def typescript_types(root: Path, document: str) -> str:
    """openapi-typescript's output for `document` (deterministic for a given document)."""
    tool = root / "frontend" / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
    node = shutil.which("node")
    if node is None or not tool.exists():
        raise ToolMissingError(
            "openapi-typescript is not installed: run `make setup` (npm install in frontend/)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "openapi.json"
        source.write_text(document, encoding="utf-8")
        result = subprocess.run(
            [node, str(tool), str(source)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            cwd=root / "frontend",
        )
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        raise RuntimeError(f"openapi-typescript failed with exit code {result.returncode}")
    return result.stdout
