"""Streaming building blocks: turn Arrow record batches into bounded summaries.

Both the reference profile and a window pass their rows through these, one record batch at a
time, so memory stays bounded by the batch size plus the sample size however many rows a window
holds. Histogram and category counts are exact; only KS and Wasserstein, which need raw values,
see a bounded uniform sample (bottom-k by a seeded random key per row, which is a uniform sample
without replacement, deterministic for a given seed and file order, and exact — every row — when
the data fits).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelplane_operator.drift.stats import FloatArray, IntArray


class BottomKSampler:
    """A uniform sample of at most `cap` rows of a (rows × columns) stream.

    Two steps per block, so that callers convert only the rows that enter the sample:
    `select(rows)` draws a key per row and returns the indices of the rows that enter;
    `store(values)` writes those rows (in that order) into the slots they take.
    """

    def __init__(self, cap: int, columns: int, seed: int) -> None:
        self._cap = cap
        self._rng = np.random.default_rng(seed)
        self._keys: FloatArray = np.empty(cap)
        self._values: FloatArray = np.empty((cap, columns))
        self._size = 0
        self._slots: IntArray = np.empty(0, dtype=np.int64)
        self.seen = 0

    def select(self, rows: int) -> IntArray:
        """Draw keys for a block of `rows` rows; the indices of the rows that enter the sample."""
        keys: FloatArray = self._rng.random((rows,))
        self.seen += rows
        size = self._size
        if size == self._cap:
            candidates = np.flatnonzero(keys < self._keys.max())
        else:
            candidates = np.arange(rows)
        combined = np.concatenate((self._keys[:size], keys[candidates]))
        new_size = min(self._cap, combined.size)
        if combined.size > self._cap:
            kept = np.argpartition(combined, self._cap - 1)[: self._cap]
            kept_old = kept[kept < size]
            kept_new = np.sort(kept[kept >= size]) - size
        else:
            kept_old = np.arange(size)
            kept_new = np.arange(candidates.size)
        evicted = np.setdiff1d(np.arange(size), kept_old, assume_unique=True)
        self._slots = np.concatenate((evicted, np.arange(size, new_size))).astype(np.int64)
        entering: IntArray = candidates[kept_new]
        self._keys[self._slots] = keys[entering]
        self._size = new_size
        return entering

    def store(self, values: FloatArray) -> None:
        """Write the rows returned by the last `select`, in the same order."""
        self._values[self._slots] = values

    def add(self, values: FloatArray) -> None:
        """Offer a block of rows already in memory."""
        self.store(values[self.select(values.shape[0])])

    def sample(self) -> FloatArray:
        """The rows kept so far."""
        return self._values[: self._size]


class RunningMoments:
    """Count, mean and variance per column, merged batch by batch (Chan et al.)."""

    def __init__(self, columns: int) -> None:
        self.count = np.zeros(columns)
        self.mean = np.zeros(columns)
        self._m2 = np.zeros(columns)

    def add(self, values: FloatArray) -> None:
        """Fold a block of rows (NaN = missing) into the moments."""
        present = ~np.isnan(values)
        n_b = present.sum(axis=0).astype(np.float64)
        safe = np.where(present, values, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_b = np.where(n_b > 0, safe.sum(axis=0) / np.maximum(n_b, 1), 0.0)
        m2_b = np.sum(np.where(present, (safe - mean_b) ** 2, 0.0), axis=0)
        total = self.count + n_b
        delta = mean_b - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(total > 0, n_b / np.maximum(total, 1), 0.0)
        self.mean = self.mean + delta * weight
        self._m2 = self._m2 + m2_b + delta**2 * self.count * weight
        self.count = total

    def std(self) -> FloatArray:
        """Population standard deviation per column (0 where empty)."""
        result: FloatArray = np.sqrt(self._m2 / np.maximum(self.count, 1))
        return result


def numeric_matrix(batch: pa.RecordBatch, columns: list[str]) -> FloatArray:
    """The named columns of a batch as a float64 (rows × columns) matrix, NaN where missing."""
    out = np.full((batch.num_rows, len(columns)), np.nan)
    names = set(batch.schema.names)
    for j, column in enumerate(columns):
        if column in names:
            array = batch.column(column)
            try:
                array = array.cast(pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"column {column!r} is not numerical ({array.type})") from exc
            out[:, j] = array.to_numpy(zero_copy_only=False)
    return out


def numeric_column(batch: pa.RecordBatch, column: str) -> FloatArray:
    """One column of a batch as float64 (zero-copy when it has no nulls), NaN where missing."""
    if column not in batch.schema.names:
        return np.full(batch.num_rows, np.nan)
    array = batch.column(column)
    if array.type != pa.float64():
        try:
            array = array.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"column {column!r} is not numerical ({array.type})") from exc
    result: FloatArray = array.to_numpy(zero_copy_only=False)
    return result


def category_counts(batch: pa.RecordBatch, column: str) -> Counter[str]:
    """Counts of each non-missing category of one column in a batch."""
    if column not in batch.schema.names:
        return Counter()
    array = batch.column(column)
    if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    counts = pc.value_counts(array)
    result: Counter[str] = Counter()
    for value, count in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        if value is not None:
            result[category_label(value)] += count
    return result


def category_label(value: str) -> str:
    """The label a category is matched by: whole numbers in one spelling.

    A categorical feature carried in a float tensor is logged as "1.0" by the runtime, while a
    reference dataset may hold 1 or "1"; all of them count as the category "1".
    """
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() else value


def bin_counts(values: FloatArray, edges: FloatArray) -> FloatArray:
    """Counts of non-missing `values` in the bins (-inf, e1], (e1, e2], …, (ek, inf)."""
    present = values[~np.isnan(values)]
    index = np.searchsorted(edges, present, side="left")
    result: FloatArray = np.bincount(index, minlength=edges.size + 1).astype(np.float64)
    return result
