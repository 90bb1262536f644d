"""Shared builders for the drift tests: payload-log tables, profiles and one-call evaluations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from modelplane_crds.drift_results import DriftEvaluation
from modelplane_operator.drift.config import DriftConfig
from modelplane_operator.drift.engine import WindowAccumulator, evaluate, profile_columns
from modelplane_operator.drift.profile import ReferenceProfile, build_profile

START = datetime(2026, 11, 20, 10, tzinfo=UTC)


def feature_table(
    columns: dict[str, Any], start: datetime = START, seconds: int = 3600
) -> pa.Table:
    """A payload-log table following the runtime's contract, with the given feature columns."""
    n = len(next(iter(columns.values())))
    offsets = np.linspace(0, seconds - 1, n).astype(np.int64) * 1_000_000
    stamp = int(start.timestamp() * 1_000_000)
    base: dict[str, Any] = {
        "request_id": pa.array([f"req-{i}" for i in range(n)], pa.string()),
        "ts": pa.array(stamp + offsets, pa.timestamp("us", tz="UTC")),
        "model_name": pa.array(["fraud"] * n, pa.string()),
        "model_version": pa.array(["1"] * n, pa.string()),
        "variant": pa.array(["stable"] * n, pa.string()),
    }
    for name, values in columns.items():
        arr = np.asarray(values)
        kind = pa.string() if arr.dtype.kind in "USO" else pa.float64()
        base[name] = pa.array(values, kind)
    return pa.table(base)


def profile_of(reference: pa.Table, config: DriftConfig, chunk: int = 4096) -> ReferenceProfile:
    """Build the profile of an in-memory reference table."""
    numerical, categorical = profile_columns(config)
    return build_profile(
        lambda: reference.to_batches(max_chunksize=chunk),
        numerical,
        categorical,
        config.profile,
        "sha256:test",
    )


def run(
    reference: pa.Table, window: pa.Table, config: DriftConfig, chunk: int = 4096
) -> DriftEvaluation:
    """Profile the reference, stream the window in chunks and evaluate it."""
    profile = profile_of(reference, config, chunk)
    acc = WindowAccumulator(config, profile).add_all(window.to_batches(max_chunksize=chunk))
    return evaluate(acc, START, START + timedelta(hours=1))


def write_payload_logs(
    fs: pafs.FileSystem,
    base: str,
    table: pa.Table,
    hour: datetime,
    parts: int = 2,
) -> list[str]:
    """Write a table as `parts` Parquet files under `base/date=…/hour=…/`, as the runtime does."""
    partition = f"{base}/date={hour:%Y-%m-%d}/hour={hour:%H}"
    fs.create_dir(partition, recursive=True)
    paths = []
    bounds = np.linspace(0, table.num_rows, parts + 1).astype(int)
    for i in range(parts):
        path = f"{partition}/{hour:%Y%m%dT%H}0000Z-part{i}.parquet"
        with fs.open_output_stream(path) as out:
            pq.write_table(table.slice(bounds[i], bounds[i + 1] - bounds[i]), out)
        paths.append(path)
    return paths
