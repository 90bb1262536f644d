"""Running the dashboard's npm tools from pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def npx(*args: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run a frontend tool (`npx --no-install …` in frontend/); fail the test with its output,
    else return its standard output."""
    npx_path = shutil.which("npx")
    assert npx_path, "npx is missing: run `make setup`"
    assert (FRONTEND / "node_modules").is_dir(), "frontend/node_modules missing: run `make setup`"
    result = subprocess.run(
        [npx_path, "--no-install", *args],
        cwd=FRONTEND,
        env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1", "CI": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout
