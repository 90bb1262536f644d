"""`python -m tests.bench.dashboard [out]`: the first-load JavaScript and CSS of each page of the
dashboard's static export (`frontend/out`, from `next build`), as files and bytes, raw and
gzip-compressed, the way a modern browser fetches them: every `<script src>` of the page's HTML
except `noModule` ones (Next's polyfills, which only browsers without ES modules load), and its
stylesheets. Next.js 16's `next build` no longer prints these sizes. Results: docs/benchmarks.md,
"Dashboard first load"."""

from __future__ import annotations

import gzip
import re
import sys
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "frontend" / "out"
SCRIPT = re.compile(r"<script\b([^>]*)>")
SRC = re.compile(r'\bsrc="(/_next/[^"]+\.js)"')
STYLESHEET = re.compile(r'<link\b[^>]*\bhref="(/_next/[^"]+\.css)"')


def first_load(html: str) -> tuple[list[str], list[str]]:
    """(scripts, stylesheets) a module-capable browser fetches to show the page, in order."""
    scripts = []
    for tag in SCRIPT.finditer(html):
        attributes = tag.group(1)
        src = SRC.search(attributes)
        if src and not re.search(r"\bnomodule\b", attributes, re.IGNORECASE):
            scripts.append(src.group(1))
    return list(dict.fromkeys(scripts)), list(dict.fromkeys(STYLESHEET.findall(html)))


@dataclass(frozen=True)
class Size:
    files: int
    raw: int
    gzipped: int


def size_of(out: Path, paths: list[str]) -> Size:
    """The files' bytes as served and after `gzip -9`."""
    data = [(out / path.lstrip("/")).read_bytes() for path in paths]
    return Size(len(data), sum(map(len, data)), sum(len(gzip.compress(d, 9)) for d in data))


def route_of(out: Path, page: Path) -> str:
    return "/" + str(page.parent.relative_to(out)).removeprefix(".").strip("/") + "/"


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    pages = sorted(p for p in out.rglob("index.html") if "_next" not in p.parts)
    if not pages:
        print(f"no pages under {out}: run `next build` in frontend/ first", file=sys.stderr)
        return 1
    loads = {route_of(out, p).replace("//", "/"): first_load(p.read_text()) for p in pages}
    shared = set.intersection(*(set(scripts) for scripts, _ in loads.values()))
    print("| page | JS files | JS | JS gzip | of which only this page's (gzip) | CSS gzip |")
    print("|---|---:|---:|---:|---:|---:|")
    for route, (scripts, styles) in loads.items():
        js, own = size_of(out, scripts), size_of(out, [s for s in scripts if s not in shared])
        css = size_of(out, styles)
        print(
            f"| `{route}` | {js.files} | {js.raw / 1000:.0f} KB | {js.gzipped / 1000:.0f} KB "
            f"| {own.gzipped / 1000:.1f} KB | {css.gzipped / 1000:.1f} KB |"
        )
    common = size_of(out, sorted(shared))
    print(
        f"\nShared by every page: {common.files} files, {common.raw / 1000:.0f} KB "
        f"({common.gzipped / 1000:.0f} KB gzip)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
