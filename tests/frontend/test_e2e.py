"""Playwright in Debian's Chromium against the real facade serving the built dashboard.

frontend/tests/e2e/dashboard.spec.ts: sign up, sign out and in again, create an organization,
see it in the switcher, the members list (with the admin role) and the audit log; a reload signs
out (nothing stored in the browser); keyboard-only sign-in and navigation.
"""

from __future__ import annotations

import shutil

from tests.frontend.support import npx

CHROMIUM = "/usr/bin/chromium"


def test_playwright_suite_passes_against_the_facade(dashboard_url: str) -> None:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: run `make setup`"
    output = npx(
        "playwright",
        "test",
        timeout=300,
        env={"E2E_BASE_URL": dashboard_url, "CHROMIUM_PATH": CHROMIUM},
    )
    assert "3 passed" in output, output
