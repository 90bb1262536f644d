"""Live quality: one ModelVersion's predictions in a window, scored against ground truth.

The drift job calls `evaluate_quality` for a monitor with `spec.quality`. Feedback rows (the
facade's `_feedback` Parquet, partitioned by the hour of `observed_at`) are read from the
window's start hour up to `labels_until` = min(now, end + labelDelay), newest row per request id;
the version's payload logs of [start, end) are then streamed in bounded record batches (as drift
windows are, `reader.iter_batches`) and inner-joined to them by request id. So a label counts
into the window of its prediction's `ts` however late it arrives within the delay, and memory
grows with the feedback read and the matched rows, never with the payload logs.

A request id with several payload rows in the window (a batched request, a reused id) is left
out: one label cannot say which row it is the truth for. Metrics are plain numpy and agree with
scikit-learn (tests/operator/drift/test_quality.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from modelplane_crds.quality import (
    SCORE_METRICS,
    QualityEvaluation,
    QualityMetricResult,
    QualitySpec,
)
from modelplane_operator.drift.monitor import parse_duration
from modelplane_operator.drift.reader import filesystem_for, iter_batches, window_files

REQUEST_ID = "request_id"
OBSERVED_AT = "observed_at"
RECEIVED_AT = "received_at"
TRUTH = "_truth"
PREDICTION = "_prediction"
SCORE = "_score"
DEFAULT_POSITIVE = "1"

Values = npt.NDArray[Any]
"""Class texts (dtype object) or numbers (float64)."""
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Joined:
    """Labelled predictions of one window, one row per request id."""

    truth: Values
    prediction: Values
    score: FloatArray | None
    predictions: int
    ambiguous_rows: int
    unmatched_feedback: int


def truth_column(spec: QualitySpec) -> str:
    """The feedback column holding the truth: `labelColumn`, else by task."""
    if spec.label_column is not None:
        return spec.label_column
    return "label" if spec.task == "classification" else "value"


def labels_until(end: datetime, now: datetime, label_delay: timedelta) -> datetime:
    """Feedback observed before this moment counts: now, at most `label_delay` after end."""
    return min(now, end + label_delay)


def scored_window(
    start: datetime, end: datetime, label_delay: timedelta
) -> tuple[datetime, datetime]:
    """The window a run scores: the drift window [start, end) moved back by `label_delay`, so
    that its labels have had that long to arrive."""
    return start - label_delay, end - label_delay


def newest_feedback(batches: Iterable[pa.RecordBatch], column: str, until: datetime) -> pa.Table:
    """The newest row per request id among those observed before `until`, without null truth.

    Columns: request_id, observed_at, `_truth`.
    """
    schema = pa.schema(
        [
            (REQUEST_ID, pa.string()),
            (OBSERVED_AT, pa.timestamp("us", tz="UTC")),
            (RECEIVED_AT, pa.timestamp("us", tz="UTC")),
            (TRUTH, pa.string()),
        ]
    )
    if column == "value":
        schema = schema.set(3, pa.field(TRUTH, pa.float64()))
    parts = []
    for batch in batches:
        names = batch.schema.names
        truth = batch.column(column) if column in names else pa.nulls(batch.num_rows)
        part = pa.table(
            [
                batch.column(REQUEST_ID),
                batch.column(OBSERVED_AT),
                batch.column(RECEIVED_AT),
                truth.cast(schema.field(TRUTH).type),
            ],
            schema=schema,
        )
        until_scalar = pa.scalar(until, type=schema.field(OBSERVED_AT).type)
        parts.append(part.filter(pc.less(part.column(OBSERVED_AT), until_scalar)))
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    table = table.sort_by([(REQUEST_ID, "ascending"), (RECEIVED_AT, "descending")])
    ids = table.column(REQUEST_ID)
    if table.num_rows > 1:
        first = pc.not_equal(ids.slice(1), ids.slice(0, table.num_rows - 1))
        keep = pa.concat_arrays([pa.array([True]), first.combine_chunks()])
        table = table.filter(keep)
    table = table.filter(pc.is_valid(table.column(TRUTH)))
    return table.select([REQUEST_ID, OBSERVED_AT, TRUTH])


def _prediction_table(batch: pa.RecordBatch, prediction: str, score: str | None) -> pa.Table:
    names = batch.schema.names

    def column(name: str) -> pa.Array:
        return batch.column(name) if name in names else pa.nulls(batch.num_rows, pa.float64())

    arrays = [batch.column(REQUEST_ID), column(prediction)]
    fields = [REQUEST_ID, PREDICTION]
    if score is not None:
        arrays.append(column(score).cast(pa.float64()))
        fields.append(SCORE)
    return pa.table(arrays, names=fields)


def join_window(
    batches: Iterable[pa.RecordBatch],
    feedback: pa.Table,
    spec: QualitySpec,
    start: datetime,
    end: datetime,
) -> Joined:
    """Inner-join streamed payload-log batches to the newest feedback by request id."""
    matched: list[pa.Table] = []
    predictions = 0
    for batch in batches:
        predictions += batch.num_rows
        table = _prediction_table(batch, spec.prediction, spec.score)
        labels = feedback.select([REQUEST_ID, TRUTH])
        matched.append(table.join(labels, REQUEST_ID, join_type="inner"))
    rows = pa.concat_tables(matched, promote_options="permissive") if matched else None
    if rows is None or rows.num_rows == 0:
        return Joined(
            np.array([]),
            np.array([]),
            None,
            predictions,
            0,
            _unmatched(feedback, pa.array([], pa.string()), start, end),
        )
    counts = rows.group_by(REQUEST_ID).aggregate([([], "count_all")])
    single = counts.filter(pc.equal(counts.column("count_all"), 1)).column(REQUEST_ID)
    unique = rows.filter(pc.is_in(rows.column(REQUEST_ID), value_set=single.combine_chunks()))
    unique = unique.filter(pc.is_valid(unique.column(PREDICTION)))
    truth, prediction = _pair(unique, spec)
    score = unique.column(SCORE).to_numpy() if spec.score is not None else None
    keep = _present(truth) & _present(prediction)
    return Joined(
        truth=truth[keep],
        prediction=prediction[keep],
        score=score[keep] if score is not None else None,
        predictions=predictions,
        ambiguous_rows=rows.num_rows - len(single),
        unmatched_feedback=_unmatched(feedback, rows.column(REQUEST_ID), start, end),
    )


def _unmatched(
    feedback: pa.Table, matched_ids: pa.ChunkedArray | pa.Array, start: datetime, end: datetime
) -> int:
    """Feedback rows observed in [start, end) whose request id matched no prediction."""
    kind = feedback.schema.field(OBSERVED_AT).type
    observed = feedback.column(OBSERVED_AT)
    inside = pc.and_(
        pc.greater_equal(observed, pa.scalar(start, kind)), pc.less(observed, pa.scalar(end, kind))
    )
    ids = matched_ids.combine_chunks() if isinstance(matched_ids, pa.ChunkedArray) else matched_ids
    found = pc.is_in(feedback.column(REQUEST_ID), value_set=ids)
    return int(pc.sum(pc.and_(inside, pc.invert(found))).as_py() or 0)


def _pair(rows: pa.Table, spec: QualitySpec) -> tuple[Values, ...]:
    """Truth and prediction as class texts (classification) or float64 (regression)."""
    if spec.task == "regression":
        return (
            rows.column(TRUTH).cast(pa.float64()).to_numpy(),
            rows.column(PREDICTION).cast(pa.float64()).to_numpy(),
        )
    return class_texts(rows.column(TRUTH)), class_texts(rows.column(PREDICTION))


def canonical_class(value: object) -> str | None:
    """A class as text: numbers and numeric text that are integral lose their decimals."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isnan(number):
        return None
    return str(int(number)) if number.is_integer() else repr(number)


def class_texts(column: pa.ChunkedArray | pa.Array) -> Values:
    """Each value's canonical class text (None for missing), converted once per distinct
    value."""
    cache: dict[object, str | None] = {}
    texts = [
        cache[v] if v in cache else cache.setdefault(v, canonical_class(v))
        for v in column.to_pylist()
    ]
    return np.array(texts, dtype=object)


def _present(values: Values) -> npt.NDArray[np.bool_]:
    if values.dtype == np.float64:
        present: npt.NDArray[np.bool_] = ~np.isnan(values)
        return present
    return np.array([v is not None for v in values], dtype=bool)


def accuracy(truth: Values, prediction: Values) -> float:
    """Share of predictions equal to the truth."""
    return float(np.mean(truth == prediction))


def precision_recall_f1(
    truth: Values, prediction: Values, positive: str, average: str
) -> tuple[float, float, float]:
    """Precision, recall and f1 of the positive class (`binary`, one against the rest) or
    their unweighted means over every class in truth or prediction (`macro`); 0 where a
    denominator is 0, as scikit-learn's default."""
    classes = [positive] if average == "binary" else sorted(set(truth) | set(prediction))
    scores = np.zeros((len(classes), 3))
    for i, label in enumerate(classes):
        predicted, actual = prediction == label, truth == label
        tp = int(np.sum(predicted & actual))
        fp, fn = int(np.sum(predicted & ~actual)), int(np.sum(~predicted & actual))
        scores[i] = (
            tp / (tp + fp) if tp + fp else 0.0,
            tp / (tp + fn) if tp + fn else 0.0,
            2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        )
    precision, recall, f1 = scores.mean(axis=0)
    return float(precision), float(recall), float(f1)


def roc_auc(positive: npt.NDArray[np.bool_], score: FloatArray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tied scores sharing their mean rank);
    None with only one class."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = mean_rank[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(positive: npt.NDArray[np.bool_], probability: FloatArray) -> float:
    """Mean binary cross-entropy (natural log), probabilities clipped to [eps, 1 - eps]."""
    eps = np.finfo(np.float64).eps
    p = np.clip(probability, eps, 1 - eps)
    return float(-np.mean(np.where(positive, np.log(p), np.log1p(-p))))


def mae(truth: FloatArray, prediction: FloatArray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(truth - prediction)))


def rmse(truth: FloatArray, prediction: FloatArray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((truth - prediction) ** 2)))


def metric_value(metric: str, joined: Joined, spec: QualitySpec) -> tuple[float | None, int]:
    """One metric's value over the joined rows and the number of rows it used."""
    truth, prediction = joined.truth, joined.prediction
    if metric in SCORE_METRICS:
        assert joined.score is not None  # the spec's rule: auc and logLoss need a score
        scored = ~np.isnan(joined.score)
        positive = truth[scored] == (spec.positive_label or DEFAULT_POSITIVE)
        if not scored.any():
            return None, 0
        score = joined.score[scored]
        value = roc_auc(positive, score) if metric == "auc" else log_loss(positive, score)
        return value, int(scored.sum())
    if truth.size == 0:
        return None, 0
    if metric in ("mae", "rmse"):
        return (mae if metric == "mae" else rmse)(truth, prediction), truth.size
    if metric == "accuracy":
        return accuracy(truth, prediction), truth.size
    positive, average = spec.positive_label or DEFAULT_POSITIVE, spec.average or "binary"
    values = dict(
        zip(
            ("precision", "recall", "f1"),
            precision_recall_f1(truth, prediction, positive, average),
            strict=True,
        )
    )
    return values[metric], truth.size


def score_metrics(spec: QualitySpec, joined: Joined) -> list[QualityMetricResult]:
    """Each metric of the spec, with its thresholds and whether it passed."""
    results = []
    for wanted in spec.metrics:
        value, rows = metric_value(wanted.metric, joined, spec)
        passed = None
        if value is not None and (wanted.min is not None or wanted.max is not None):
            passed = (wanted.min is None or value >= wanted.min) and (
                wanted.max is None or value <= wanted.max
            )
        results.append(
            QualityMetricResult(
                metric=wanted.metric,
                value=value,
                min=wanted.min,
                max=wanted.max,
                passed=passed,
                rows=rows,
            )
        )
    return results


def evaluate_joined(
    spec: QualitySpec,
    joined: Joined,
    start: datetime,
    end: datetime,
    until: datetime,
    model_version: str | None = None,
) -> QualityEvaluation:
    """The evaluation of a joined window: metrics when enough rows had a label."""
    labelled = int(joined.truth.size)
    insufficient = labelled < spec.min_labelled_rows
    metrics = [] if insufficient else score_metrics(spec, joined)
    return QualityEvaluation(
        window_start=start,
        window_end=end,
        labels_until=until,
        model_version=model_version,
        predictions=joined.predictions,
        labelled_rows=labelled,
        ambiguous_rows=joined.ambiguous_rows,
        unmatched_feedback=joined.unmatched_feedback,
        metrics=metrics,
        degraded=any(m.passed is False for m in metrics),
        insufficient_data=insufficient,
    )


def evaluate_quality(
    spec: QualitySpec,
    window_uri: str,
    feedback_uri: str,
    start: datetime,
    end: datetime,
    now: datetime,
    model_version: str | None = None,
) -> QualityEvaluation:
    """Score the predictions logged under `window_uri` in [start, end) against the feedback
    under `feedback_uri` observed from start's hour until min(now, end + labelDelay)."""
    until = labels_until(end, now, parse_duration(spec.label_delay))
    fs, feedback_base = filesystem_for(feedback_uri)
    column = truth_column(spec)
    feedback_files = window_files(fs, feedback_base, start, max(until, end))
    wanted = [REQUEST_ID, OBSERVED_AT, RECEIVED_AT, column]
    feedback = newest_feedback(iter_batches(fs, feedback_files, wanted), column, until)
    log_fs, window_base = filesystem_for(window_uri)
    columns = [REQUEST_ID, spec.prediction, *([spec.score] if spec.score else [])]
    batches = iter_batches(
        log_fs, window_files(log_fs, window_base, start, end), columns, start, end
    )
    return evaluate_joined(
        spec, join_window(batches, feedback, spec, start, end), start, end, until, model_version
    )
