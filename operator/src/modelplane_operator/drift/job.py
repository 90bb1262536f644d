"""One drift evaluation end to end: reference profile (cached), window stream, results.

This is the plain-Python core of the drift job. The command line (`python -m
modelplane_operator.drift`) and the operator's CronJob only decide the arguments; everything
that touches data happens here, against S3 or a local path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from modelplane_crds.drift_results import DriftEvaluation
from modelplane_operator.drift.config import DriftConfig
from modelplane_operator.drift.engine import WindowAccumulator, evaluate, profile_columns
from modelplane_operator.drift.profile import ReferenceProfile, build_profile, profile_key
from modelplane_operator.drift.reader import (
    content_digest,
    filesystem_for,
    iter_batches,
    parquet_files,
    window_files,
)

log = logging.getLogger(__name__)


def load_or_build_profile(
    reference_uri: str,
    config: DriftConfig,
    cache_uri: str | None = None,
    digest: str | None = None,
) -> ReferenceProfile:
    """The reference profile from the cache, or built from the reference (and then cached).

    `digest` should be the ModelVersion's reference digest; without it a digest of the
    reference's file listing is used.
    """
    fs, path = filesystem_for(reference_uri)
    files = parquet_files(fs, path)
    if not files:
        raise ValueError(f"no Parquet files at reference {reference_uri!r}")
    digest = digest or content_digest(fs, path)
    numerical, categorical = profile_columns(config)
    cache_fs = cache_path = None
    if cache_uri:
        cache_fs, cache_dir = filesystem_for(cache_uri)
        cache_path = f"{cache_dir}/{profile_key(digest, config.profile, numerical, categorical)}"
        try:
            with cache_fs.open_input_stream(cache_path) as stream:
                profile = ReferenceProfile.from_bytes(stream.read())
            log.info("reference profile loaded from cache %s", cache_path)
            return profile
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable cached profile %s: %s", cache_path, exc)
    columns = numerical + categorical
    with fs.open_input_file(files[0]) as handle:
        names = set(pq.ParquetFile(handle).schema_arrow.names)
    source = {c: reference_column(c, names) for c in columns}
    back = {v: k for k, v in source.items()}

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in iter_batches(fs, files, list(back)):
            yield batch.rename_columns([back[n] for n in batch.schema.names])

    profile = build_profile(batches, numerical, categorical, config.profile, digest)
    _check_columns(profile, reference_uri)
    if cache_fs is not None and cache_path is not None:
        if isinstance(cache_fs, pafs.LocalFileSystem):  # S3 needs no directory markers
            cache_fs.create_dir(cache_path.rsplit("/", 1)[0], recursive=True)
        with cache_fs.open_output_stream(cache_path) as out:
            out.write(profile.to_bytes())
        log.info("reference profile cached at %s", cache_path)
    return profile


def reference_column(column: str, names: set[str]) -> str:
    """The reference dataset's column for a payload-log column.

    Reference datasets may use the payload-log names (`feature.age`) or bare feature names
    (`age`, as a ModelVersion's reference dataset does); the former wins when both exist.
    """
    if column in names:
        return column
    prefix, _, bare = column.partition(".")
    if prefix in ("feature", "output") and bare in names:
        return bare
    return column


def evaluate_window(
    profile: ReferenceProfile,
    window_uri: str,
    config: DriftConfig,
    start: datetime,
    end: datetime,
) -> DriftEvaluation:
    """Stream the payload logs of [start, end) under `window_uri` and evaluate them."""
    fs, base = filesystem_for(window_uri)
    files = window_files(fs, base, start, end)
    window = WindowAccumulator(config, profile)
    window.add_all(iter_batches(fs, files, window.columns, start, end))
    return evaluate(window, start, end)


def _check_columns(profile: ReferenceProfile, reference_uri: str) -> None:
    """Refuse a reference that lacks a configured column entirely."""
    empty = [c for c, p in profile.numerical.items() if p.count == 0]
    empty += [c for c, p in profile.categorical.items() if p.count == 0]
    if empty:
        raise ValueError(
            f"reference {reference_uri!r} has no values for column(s) {', '.join(empty)}"
        )
