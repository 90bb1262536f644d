"""Evidently's data drift report on the benchmark data, run in the benchmark's own venv.

`<bench-venv>/bin/python evidently_run.py <data-dir> <parts> <out.json>`. Standalone on purpose
(Evidently is not a workspace dependency): reads the reference and the first `parts` window
files with pandas, runs `Report([DataDriftPreset()])` with its defaults (normed Wasserstein and
Jensen-Shannon at 0.1 for references over 1000 rows: the same tests and thresholds as the
engine's defaults), and writes {"seconds", "drifted"}.
"""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]  # only in the bench venv
from evidently import Report
from evidently.presets import DataDriftPreset

START = datetime(2026, 11, 20, 0, tzinfo=UTC)
METRIC = re.compile(
    r"ValueDrift\(column=feature\.(?P<name>[^,]+),method=.*,threshold=(?P<t>[0-9.]+)\)"
)


def main() -> int:
    """Entry point for the benchmark's subprocess."""
    directory, parts, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    reference = pd.read_parquet(directory / "reference.parquet")
    columns = list(reference.columns)
    files = [
        directory / f"window/date={h:%Y-%m-%d}/hour={h:%H}/part-0.parquet"
        for h in (START + timedelta(hours=k) for k in range(parts))
    ]
    current = pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)
    result = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    drifted = {}
    for metric in result.dict()["metrics"]:
        match = METRIC.fullmatch(metric["metric_name"])
        if match:
            drifted[match["name"]] = bool(metric["value"] >= float(match["t"]))
    out.write_text(json.dumps({"seconds": time.perf_counter() - started, "drifted": drifted}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
