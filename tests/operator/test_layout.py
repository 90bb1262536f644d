"""The operator's shape (issue 30): every function fits on one screen.

A function over the limit is a sign that logic belongs in a builder (pure) or in `cluster.py`
(the gateway); STYLE.md's "it fits on one screen". Lines count from `def` to the last line of
the body, docstring included; a nested function counts inside its parent as well as alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import modelplane_operator

MAX_FUNCTION_LINES = 60
SOURCE = Path(modelplane_operator.__file__).parent


def long_functions(root: Path, limit: int) -> list[str]:
    """`path:line name (n lines)` of every function under `root` longer than `limit` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    where = path.relative_to(root.parent)
                    found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_in_the_operator_is_over_60_lines() -> None:
    assert list(SOURCE.rglob("*.py")), f"no operator sources under {SOURCE}"
    assert long_functions(SOURCE, MAX_FUNCTION_LINES) == []


def test_the_check_finds_a_function_one_line_over_the_limit(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 1))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "at_limit.py").write_text(f"def fits():\n{body}\n")
    assert long_functions(tmp_path / "pkg", MAX_FUNCTION_LINES) == []
    (tmp_path / "pkg" / "over.py").write_text(f"async def too_long():\n{body}\n    return x0\n")
    assert long_functions(tmp_path / "pkg", MAX_FUNCTION_LINES) == [
        "pkg/over.py:1 too_long (61 lines)"
    ]
