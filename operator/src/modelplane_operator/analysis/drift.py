"""Prediction drift of the candidate against the stable version, on the same live traffic.

Both variants' pods log sampled requests and predictions to `s3://<bucket>/<namespace>/
<deployment>/<ModelVersion>/…` (the runtime's payload log). For one analysis interval, the stable
version's predictions are the reference and the candidate's the window: the drift engine builds a
profile from the one and tests the other with the check's test (psi, ks, chi2, jsd or
wasserstein) on every output column; the largest statistic is the measurement. Fewer candidate
rows than `min_rows` is no measurement (the check is then inconclusive, never passed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from modelplane_crds.drift_results import DriftTestName
from modelplane_operator.analysis.sources import SourceError
from modelplane_operator.analysis.targets import Target
from modelplane_operator.drift import DriftConfig, FeatureSpec, WindowAccumulator, build_profile
from modelplane_operator.drift.engine import evaluate, profile_columns
from modelplane_operator.drift.reader import filesystem_for, iter_batches, window_files

NUMERICAL_ONLY = frozenset({"ks", "wasserstein"})
CATEGORICAL_ONLY = frozenset({"chi2"})


def payload_uri(root: str, target: Target) -> str:
    """Where a variant's payload logs are, under `s3://<bucket>` (or a local directory)."""
    return f"{root.rstrip('/')}/{target.namespace}/{target.deployment}/{target.version}"


def _output_columns(fs: object, files: list[str]) -> dict[str, bool]:
    """Output columns of the logs → whether they are numerical."""
    for file in files:
        with fs.open_input_file(file) as handle:  # type: ignore[attr-defined]
            schema = pq.ParquetFile(handle).schema_arrow
        found = {
            f.name: not (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            for f in schema
            if f.name.startswith("output.")
        }
        if found:
            return found
    return {}


class PredictionDrift:
    """Measures candidate-vs-stable prediction drift from the variants' payload logs."""

    def __init__(self, min_rows: int = 100) -> None:
        self.min_rows = min_rows

    def measure(
        self,
        root: str,
        candidate: Target,
        stable: Target,
        window_s: float,
        test: DriftTestName,
        now: datetime,
    ) -> tuple[float, int] | None:
        """(largest statistic over the outputs, candidate rows), or None without enough rows.

        `root` is `s3://<bucket>` (or a local directory in tests) holding the payload logs."""
        start, end = now - timedelta(seconds=window_s), now + timedelta(seconds=1)
        try:
            ref_fs, ref_base = filesystem_for(payload_uri(root, stable))
            win_fs, win_base = filesystem_for(payload_uri(root, candidate))
            ref_files = window_files(ref_fs, ref_base, start, end)
            win_files = window_files(win_fs, win_base, start, end)
        except (OSError, ValueError) as exc:
            raise SourceError(f"payload logs unreadable: {exc}") from exc
        outputs = _output_columns(win_fs, win_files)
        if not ref_files or not outputs:
            return None
        specs = [
            FeatureSpec(
                name=column.removeprefix("output."),
                column=column,
                kind="numerical" if numeric else "categorical",
                test=test if _fits(test, numeric) else None,
            )
            for column, numeric in sorted(outputs.items())
        ]
        config = DriftConfig(outputs=specs, min_samples=self.min_rows)
        numerical, categorical = profile_columns(config)

        def reference() -> Iterator[pa.RecordBatch]:
            return iter_batches(ref_fs, ref_files, numerical + categorical, start, end)

        try:
            profile = build_profile(reference, numerical, categorical, config.profile, "stable")
            window = WindowAccumulator(config, profile)
            window.add_all(iter_batches(win_fs, win_files, window.columns, start, end))
            result = evaluate(window, start, end)
        except (OSError, ValueError) as exc:
            raise SourceError(f"prediction drift failed: {exc}") from exc
        if result.insufficient_data or not result.prediction_drift:
            return None
        return max(r.statistic for r in result.prediction_drift), result.samples


def _fits(test: str, numeric: bool) -> bool:
    return not ((numeric and test in CATEGORICAL_ONLY) or (not numeric and test in NUMERICAL_ONLY))
