"""The reference profile: everything a window evaluation needs to know about the reference.

Computed once per ModelVersion (reference digest) and cached as one small `.npz` object, so that
evaluating a window never re-reads the reference data. It holds, per numerical column, the
quantile bin edges with the reference's bin counts (PSI, binned Jensen-Shannon), a sorted sample
of at most `referenceSampleSize` values (KS, Wasserstein; the whole column when it fits) and the
standard deviation (to express Wasserstein in reference units); per categorical column, the
category counts. Serialized as npz with a JSON header and `allow_pickle=False` on load: a cached
profile is data, never code.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from modelplane_operator.drift.accumulate import (
    BottomKSampler,
    RunningMoments,
    bin_counts,
    category_counts,
    numeric_matrix,
)
from modelplane_operator.drift.config import ProfileParams
from modelplane_operator.drift.stats import FloatArray

FORMAT_VERSION = 1


@dataclass
class NumericalProfile:
    """Reference summary of one numerical column."""

    column: str
    count: int
    std: float
    edges: FloatArray
    bin_counts: FloatArray
    sample: FloatArray


@dataclass
class CategoricalProfile:
    """Reference summary of one categorical column."""

    column: str
    count: int
    categories: list[str]
    counts: FloatArray


@dataclass
class ReferenceProfile:
    """The cached summary of a reference dataset."""

    digest: str
    rows: int
    params: ProfileParams
    numerical: dict[str, NumericalProfile] = field(default_factory=dict)
    categorical: dict[str, CategoricalProfile] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialize as npz (no pickle)."""
        meta = {
            "format": FORMAT_VERSION,
            "digest": self.digest,
            "rows": self.rows,
            "params": self.params.model_dump(by_alias=True),
            "numerical": [
                {"column": p.column, "count": p.count, "std": p.std}
                for p in self.numerical.values()
            ],
            "categorical": [
                {"column": p.column, "count": p.count, "categories": p.categories}
                for p in self.categorical.values()
            ],
        }
        arrays: dict[str, np.ndarray] = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        }
        for i, num in enumerate(self.numerical.values()):
            arrays[f"edges_{i}"] = num.edges
            arrays[f"bins_{i}"] = num.bin_counts
            arrays[f"sample_{i}"] = num.sample
        for i, cat in enumerate(self.categorical.values()):
            arrays[f"counts_{i}"] = cat.counts
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceProfile:
        """Load a profile written by `to_bytes`; raises ValueError on anything else."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                meta = json.loads(npz["meta"].tobytes().decode())
                if meta.get("format") != FORMAT_VERSION:
                    raise ValueError(f"unsupported profile format {meta.get('format')!r}")
                profile = cls(
                    digest=meta["digest"],
                    rows=int(meta["rows"]),
                    params=ProfileParams.model_validate(meta["params"]),
                )
                for i, m in enumerate(meta["numerical"]):
                    profile.numerical[m["column"]] = NumericalProfile(
                        column=m["column"],
                        count=int(m["count"]),
                        std=float(m["std"]),
                        edges=npz[f"edges_{i}"],
                        bin_counts=npz[f"bins_{i}"],
                        sample=npz[f"sample_{i}"],
                    )
                for i, m in enumerate(meta["categorical"]):
                    profile.categorical[m["column"]] = CategoricalProfile(
                        column=m["column"],
                        count=int(m["count"]),
                        categories=list(m["categories"]),
                        counts=npz[f"counts_{i}"],
                    )
        except (OSError, KeyError, TypeError, ValueError) as exc:  # incl. JSON, pickle refusal
            raise ValueError(f"not a drift reference profile: {exc}") from exc
        return profile


def profile_key(
    digest: str, params: ProfileParams, numerical: list[str], categorical: list[str]
) -> str:
    """Cache object name for a reference digest, profile settings and column set."""
    columns = json.dumps([sorted(numerical), sorted(categorical)])
    column_hash = hashlib.sha256(columns.encode()).hexdigest()[:12]
    safe_digest = digest.replace(":", "-").replace("/", "-")
    return f"{safe_digest}-{params.key()}-{column_hash}.npz"


def build_profile(
    batches: Callable[[], Iterable[pa.RecordBatch]],
    numerical: list[str],
    categorical: list[str],
    params: ProfileParams,
    digest: str,
) -> ReferenceProfile:
    """Summarize a reference read as a stream of record batches.

    `batches` is called once, or twice when the reference is larger than the sample: the second
    pass counts every row into the bins chosen from the first pass's sample.
    """
    sampler = BottomKSampler(params.reference_sample_size, len(numerical), params.seed)
    moments = RunningMoments(len(numerical))
    cat_counts: dict[str, Counter[str]] = {c: Counter() for c in categorical}
    rows = 0
    for batch in batches():
        rows += batch.num_rows
        if numerical:
            values = numeric_matrix(batch, numerical)
            sampler.add(values)
            moments.add(values)
        for column in categorical:
            cat_counts[column].update(category_counts(batch, column))

    sample = sampler.sample()
    edges = _quantile_edges(sample, len(numerical), params.bins)
    exact = rows <= params.reference_sample_size
    counts = _counts_per_bin(batches, numerical, sample, edges, exact)

    profile = ReferenceProfile(digest=digest, rows=rows, params=params)
    std = moments.std()
    for j, column in enumerate(numerical):
        column_sample = np.sort(sample[:, j][~np.isnan(sample[:, j])])
        profile.numerical[column] = NumericalProfile(
            column=column,
            count=int(moments.count[j]),
            std=float(std[j]),
            edges=edges[j],
            bin_counts=counts[j],
            sample=column_sample,
        )
    for column in categorical:
        ordered = sorted(cat_counts[column])
        profile.categorical[column] = CategoricalProfile(
            column=column,
            count=int(sum(cat_counts[column].values())),
            categories=ordered,
            counts=np.array([cat_counts[column][c] for c in ordered], dtype=np.float64),
        )
    return profile


def _quantile_edges(sample: FloatArray, columns: int, bins: int) -> list[FloatArray]:
    """Each numerical column's bin edges: the sample's inner quantiles, duplicates merged."""
    probabilities = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    edges: list[FloatArray] = []
    for j in range(columns):
        column_sample = sample[:, j][~np.isnan(sample[:, j])]
        if column_sample.size == 0:
            edges.append(np.empty(0))
        else:
            edges.append(np.unique(np.quantile(column_sample, probabilities)))
    return edges


def _counts_per_bin(
    batches: Callable[[], Iterable[pa.RecordBatch]],
    numerical: list[str],
    sample: FloatArray,
    edges: list[FloatArray],
    exact: bool,
) -> list[FloatArray]:
    """Rows per bin: from the sample when it holds every row, else from a second pass."""
    if exact:
        return [bin_counts(sample[:, j], edges[j]) for j in range(len(numerical))]
    counts = [np.zeros(e.size + 1) for e in edges]
    if numerical:
        for batch in batches():
            values = numeric_matrix(batch, numerical)
            for j in range(len(numerical)):
                counts[j] += bin_counts(values[:, j], edges[j])
    return counts
