"""The first-load measurement of `tests.bench.dashboard` reads a page's HTML as a browser would."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench.dashboard import first_load, main

PAGE = (
    '<html><head><link rel="stylesheet" href="/_next/static/chunks/a.css" data-precedence="next"/>'
    '<script src="/_next/static/chunks/main.js" async=""></script>'
    '<script src="/_next/static/chunks/polyfills.js" noModule=""></script>'
    '<script>self.__next_f.push([1,"inline"])</script>'
    '<script src="/_next/static/chunks/page.js" async=""></script>'
    '<script src="/_next/static/chunks/main.js" async=""></script></head></html>'
)


def test_first_load_skips_nomodule_polyfills_inline_scripts_and_repeats() -> None:
    assert first_load(PAGE) == (
        ["/_next/static/chunks/main.js", "/_next/static/chunks/page.js"],
        ["/_next/static/chunks/a.css"],
    )


def test_the_report_counts_each_page_and_what_every_page_shares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chunks = tmp_path / "_next" / "static" / "chunks"
    chunks.mkdir(parents=True)
    for name, size in (("main.js", 4000), ("page.js", 1000), ("polyfills.js", 9000), ("a.css", 10)):
        (chunks / name).write_bytes(b"x" * size)
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.html").write_text(PAGE.replace("page.js", "nothing.js", 2))
    (chunks / "nothing.js").write_bytes(b"")
    assert main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| `/` | 2 | 5 KB |" in printed
    assert "| `/other/` | 2 | 4 KB |" in printed
    assert "Shared by every page: 1 files, 4 KB" in printed
