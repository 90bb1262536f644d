"""Playwright in Debian's Chromium against the real facade serving the built dashboard.

frontend/tests/e2e/dashboard.spec.ts: sign up, sign out and in again, create an organization,
see it in the switcher, members, projects, API keys and the audit log; a reload signs out
(nothing stored in the browser); keyboard-only sign-in and navigation; register a model and
upload an ONNX file (stored in MinIO) as its first version; deploy a version from its page,
change its settings (kept after a reload), see its payload logs empty and download a sample of
them, see the deployment listed and filtered, start a rollout, pause it, try an inference
request, see its Monitoring tab empty, promote to production and delete (no operator runs:
deployments stay Pending, no pod logs payloads, the inference proxy finds no Service); create,
rename, search and delete experiments in the organization's workspace of the session's MLflow,
and read the mlflow client's settings; log runs through the facade's MLflow proxy and find them
in the runs table, sorted by a metric, searched with MLflow's syntax (a bad query's refusal
shown) and by status; a run's page with its artifact and a metric's history charted; two runs
selected and charted, then compared (the param that differs marked, only differences shown,
metrics side by side, both losses charted); a user of another organization sees none of it; the
first load of `/` measured.

frontend/tests/e2e/monitoring.spec.ts: the demo's canary on its Monitoring tab, stable and
candidate charted from the series a real Prometheus scraped off two real serving runtimes while
traffic reached them (see `canary_prometheus`), the screenshot written to the docs; then the
same tab from a facade without Prometheus, its 503 explained.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.frontend.conftest import Canary
from tests.frontend.support import FRONTEND, npx
from tests.onnx_models import linear_model, write_model

CHROMIUM = "/usr/bin/chromium"


def test_playwright_suite_passes_against_the_facade(
    dashboard_url: str, dashboard_url_without_prometheus: str, canary: Canary, tmp_path: Path
) -> None:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: run `make setup`"
    model, _ = write_model(linear_model(4), tmp_path / "linear.onnx")
    output = npx(
        "playwright",
        "test",
        timeout=300,
        env={
            "E2E_BASE_URL": dashboard_url,
            "CHROMIUM_PATH": CHROMIUM,
            "E2E_ONNX_MODEL": str(model),
            "E2E_CANARY_ORG": canary.slug,
            "E2E_CANARY_MODEL": canary.model,
            "E2E_NO_PROMETHEUS_URL": dashboard_url_without_prometheus,
        },
    )
    assert "9 passed" in output, output
