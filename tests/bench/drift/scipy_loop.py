"""Baseline: the same tests with scipy, one column at a time on the full data.

`python -m tests.bench.drift.scipy_loop <data-dir> <parts> <out.json>`: reads the reference and
the first `parts` window files with pyarrow, then per column `scipy.stats.wasserstein_distance`
(divided by the reference standard deviation) for numerical features and
`scipy.spatial.distance.jensenshannon` on category frequencies for categorical ones, with the
engine's default thresholds (0.1). Prints nothing; writes {"seconds", "drifted"}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats
from scipy.spatial.distance import jensenshannon

from tests.bench.drift.data import window_files

THRESHOLD = 0.1


def run(directory: Path, parts: int) -> dict[str, bool]:
    """Decisions per feature."""
    reference = pq.read_table(directory / "reference.parquet")
    columns = [c for c in reference.column_names if c.startswith("feature.")]
    window = pa.concat_tables(
        [pq.read_table(f, columns=columns) for f in window_files(directory, parts)]
    )
    drifted: dict[str, bool] = {}
    for column in columns:
        ref = reference.column(column).to_numpy()
        cur = window.column(column).to_numpy()
        if ref.dtype.kind == "f":
            value = stats.wasserstein_distance(ref, cur) / np.std(ref)
        else:
            labels = np.union1d(np.unique(ref), np.unique(cur))
            p = np.array([np.count_nonzero(ref == label) for label in labels], dtype=float)
            q = np.array([np.count_nonzero(cur == label) for label in labels], dtype=float)
            value = jensenshannon(p, q, base=2)
        drifted[column.removeprefix("feature.")] = bool(value >= THRESHOLD)
    return drifted


def main() -> int:
    """Entry point for the benchmark's subprocess."""
    directory, parts, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    drifted = run(directory, parts)
    out.write_text(json.dumps({"seconds": time.perf_counter() - started, "drifted": drifted}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
