"""Benchmarks (`make bench-*`); shared: writing a result section into docs/benchmarks.md and
waiting for a facade process to be ready."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def write_section(doc: Path, section: str, text: str) -> None:
    """Replace the section headed exactly `section` (up to the next `## `) with `text`, which
    starts with that heading, where it stands; a new section goes at the end."""
    existing = doc.read_text() if doc.exists() else "# Benchmarks\n"
    lines = existing.split("\n")
    if section not in lines:
        doc.write_text("\n".join(lines).rstrip("\n") + "\n\n" + text)
        return
    start = lines.index(section)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    after = "\n".join(lines[end:])
    doc.write_text(
        "\n".join(lines[:start]) + "\n" + text.rstrip("\n") + ("\n\n" + after if after else "\n")
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Wait until the facade at `url` answers `/ready` with 200 (RuntimeError if it exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"facade exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("facade did not become ready")
