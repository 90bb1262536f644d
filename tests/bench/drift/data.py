"""Deterministic benchmark data: a reference and a window of payload logs, some features drifted.

Numerical features `feature.n<i>` (normal, lognormal or uniform with per-feature parameters) and
categorical features `feature.c<j>` (8 labels with skewed per-feature frequencies). Every ninth
numerical feature is shifted by 0.5 reference standard deviations in the window, and every
fourth categorical feature gets a clearly different mix; all others keep their distribution. The
window is written as payload logs, one 1/10 of the rows per hour partition, so a one-hour window
is a tenth of the data and a ten-hour window all of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = datetime(2026, 11, 20, 0, tzinfo=UTC)
LABELS = np.array([f"label-{k}" for k in range(8)])
PARTS = 10
WINDOW_ROW_GROUP = 5_000
"""Rows per Parquet row group in the window files: the serving runtime flushes its payload log
every 5,000 rows by default, so that is what real window files look like."""
REFERENCE_ROW_GROUP = 20_000
LAYOUT = 2


@dataclass(frozen=True)
class Shape:
    """Size of one generated data set."""

    rows: int
    reference_rows: int
    features: int

    @property
    def numerical(self) -> int:
        """Numerical features: nine in ten."""
        return self.features - self.categorical

    @property
    def categorical(self) -> int:
        """Categorical features: one in ten (at least one)."""
        return max(1, self.features // 10)


def _numerical_drifted(i: int) -> bool:
    return i % 9 == 0


def _categorical_drifted(j: int) -> bool:
    return j % 4 == 0


def _mix(j: int, drifted: bool) -> np.ndarray:
    p = np.random.default_rng(1000 + j).dirichlet(np.full(LABELS.size, 0.8))
    p = np.sort(p)[::-1]
    return p[::-1].copy() if drifted else p


def _columns(shape: Shape, rows: int, seed: int, window: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i in range(shape.numerical):
        family = i % 3
        shift = 0.5 if window and _numerical_drifted(i) else 0.0
        if family == 0:
            loc, scale = 10.0 * (i % 7), 1.0 + i % 5
            columns[f"feature.n{i}"] = rng.normal(loc + shift * scale, scale, rows)
        elif family == 1:
            values = rng.lognormal(0.0, 0.5, rows)
            std = float(np.sqrt((np.exp(0.25) - 1) * np.exp(0.25)))
            columns[f"feature.n{i}"] = values + shift * std
        else:
            width = 1.0 + i % 4
            columns[f"feature.n{i}"] = rng.uniform(0, width, rows) + shift * width / np.sqrt(12)
    for j in range(shape.categorical):
        p = _mix(j, window and _categorical_drifted(j))
        columns[f"feature.c{j}"] = LABELS[rng.choice(LABELS.size, rows, p=p)]
    return columns


def expected_drift(shape: Shape) -> dict[str, bool]:
    """Which features were generated drifted."""
    truth = {f"n{i}": _numerical_drifted(i) for i in range(shape.numerical)}
    truth.update({f"c{j}": _categorical_drifted(j) for j in range(shape.categorical)})
    return truth


def generate(shape: Shape, directory: Path) -> Path:
    """Write reference.parquet and window/… payload logs (skipped when already there)."""
    marker = directory / "shape.json"
    expected = {**asdict(shape), "layout": LAYOUT}
    if marker.exists() and json.loads(marker.read_text()) == expected:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(_columns(shape, shape.reference_rows, 1, window=False)),
        directory / "reference.parquet",
        row_group_size=REFERENCE_ROW_GROUP,
    )
    per_part = shape.rows // PARTS
    for part in range(PARTS):
        hour = START + timedelta(hours=part)
        partition = directory / f"window/date={hour:%Y-%m-%d}/hour={hour:%H}"
        partition.mkdir(parents=True, exist_ok=True)
        stamp = int(hour.timestamp() * 1_000_000)
        offsets = np.linspace(0, 3_599_000_000, per_part).astype(np.int64)
        base = {
            "request_id": pa.array([f"r{part}-{k}" for k in range(per_part)], pa.string()),
            "ts": pa.array(stamp + offsets, pa.timestamp("us", tz="UTC")),
            "model_name": pa.array(np.full(per_part, "bench")),
            "model_version": pa.array(np.full(per_part, "1")),
            "variant": pa.array(np.full(per_part, "stable")),
        }
        columns = _columns(shape, per_part, 100 + part, window=True)
        pq.write_table(
            pa.table({**base, **columns}),
            partition / "part-0.parquet",
            row_group_size=WINDOW_ROW_GROUP,
        )
    marker.write_text(json.dumps(expected))
    return directory


def window_files(directory: Path, parts: int) -> list[Path]:
    """The first `parts` hour partitions' files."""
    return [
        directory / f"window/date={h:%Y-%m-%d}/hour={h:%H}/part-0.parquet"
        for h in (START + timedelta(hours=k) for k in range(parts))
    ]
