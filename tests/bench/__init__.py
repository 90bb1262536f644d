"""Benchmarks (`make bench-*`); shared: writing a result section into docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path


def write_section(doc: Path, section: str, text: str) -> None:
    """Replace the section headed exactly `section` (up to the next `## `) with `text`, which
    starts with that heading; a new section goes at the end."""
    existing = doc.read_text() if doc.exists() else "# Benchmarks\n"
    lines = existing.split("\n")
    if section in lines:
        start = lines.index(section)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines = lines[:start] + lines[end:]
    doc.write_text("\n".join(lines).rstrip("\n") + "\n\n" + text)
