"""The dashboard's Vitest + Testing Library suite (MSW for HTTP), run as part of `make test`."""

from __future__ import annotations

from tests.frontend.support import npx


def test_vitest_suite_passes() -> None:
    output = npx("vitest", "run", "--reporter=dot", timeout=300)
    assert " passed" in output, output
