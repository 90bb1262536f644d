"""Live quality, pure: the metrics agree with scikit-learn, and the join counts each label into
its prediction's window once (late labels, duplicates, unmatched and ambiguous ids)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from modelplane_crds.quality import QualitySpec
from modelplane_operator.drift.quality import (
    Joined,
    class_texts,
    evaluate_joined,
    join_window,
    labels_until,
    newest_feedback,
    scored_window,
)

START = datetime(2026, 11, 20, 10, tzinfo=UTC)
END = START + timedelta(hours=1)
TS = pa.timestamp("us", tz="UTC")


def classification(**extra: Any) -> QualitySpec:
    """A binary classification spec over every classification metric."""
    metrics = [{"metric": m} for m in ("accuracy", "precision", "recall", "f1", "auc", "logLoss")]
    fields = {
        "task": "classification",
        "prediction": "output.label.0",
        "score": "output.probability.1",
        "metrics": metrics,
        "minLabelledRows": 1,
    }
    return QualitySpec.model_validate(fields | extra)


def payload(
    ids: list[str], labels: list[float], scores: list[float] | None = None, at: datetime = START
) -> pa.RecordBatch:
    """Payload-log rows as the runtime writes them: one per id, at `at` plus a second each."""
    stamp = int(at.timestamp() * 1e6)
    columns: dict[str, pa.Array] = {
        "request_id": pa.array(ids, pa.string()),
        "ts": pa.array([stamp + i * 1_000_000 for i in range(len(ids))], TS),
        "output.label.0": pa.array(labels, pa.float64()),
    }
    if scores is not None:
        columns["output.probability.1"] = pa.array(scores, pa.float64())
    return pa.RecordBatch.from_pydict(columns)


def feedback(rows: Sequence[tuple[str, str | None, datetime, datetime]]) -> pa.RecordBatch:
    """Feedback rows as the facade writes them: (request id, label, observed_at, received_at)."""
    return pa.RecordBatch.from_pydict(
        {
            "request_id": pa.array([r[0] for r in rows], pa.string()),
            "observed_at": pa.array([r[2] for r in rows], TS),
            "label": pa.array([r[1] for r in rows], pa.string()),
            "value": pa.array([None] * len(rows), pa.float64()),
            "received_at": pa.array([r[3] for r in rows], TS),
        }
    )


def _classes(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    prediction = np.where(rng.uniform(size=n) < 0.7, truth, rng.integers(0, k, n))
    score = np.round(np.clip(0.5 * truth + rng.normal(0.25, 0.3, n), 0, 1), 2)  # ties, 0 and 1
    return truth, prediction, score


def _joined(truth: np.ndarray, prediction: np.ndarray, score: np.ndarray | None) -> Joined:
    return Joined(
        truth=truth,
        prediction=prediction,
        score=score,
        predictions=truth.size,
        ambiguous_rows=0,
        unmatched_feedback=0,
    )


def _values(spec: QualitySpec, joined: Joined) -> dict[str, float | None]:
    evaluation = evaluate_joined(spec, joined, START, END, END)
    return {m.metric: m.value for m in evaluation.metrics}


@pytest.mark.parametrize("seed", range(6))
def test_binary_classification_metrics_agree_with_scikit_learn(seed: int) -> None:
    truth, prediction, score = _classes(seed, 500 + 97 * seed, 2)
    texts = class_texts(pa.array(truth.astype(float)))
    got = _values(classification(), _joined(texts, class_texts(pa.array(prediction)), score))
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(truth, prediction))
    assert got["precision"] == pytest.approx(skm.precision_score(truth, prediction))
    assert got["recall"] == pytest.approx(skm.recall_score(truth, prediction))
    assert got["f1"] == pytest.approx(skm.f1_score(truth, prediction))
    assert got["auc"] == pytest.approx(skm.roc_auc_score(truth, score))
    assert got["logLoss"] == pytest.approx(skm.log_loss(truth, score))


@pytest.mark.parametrize("seed", range(4))
def test_macro_averaged_metrics_agree_with_scikit_learn_over_every_class_seen(seed: int) -> None:
    truth, prediction, _ = _classes(seed, 400, 4)
    prediction[prediction == 3] = 5  # a class only predicted, never true
    spec = QualitySpec.model_validate(
        {
            "task": "classification",
            "prediction": "output.label.0",
            "average": "macro",
            "metrics": [{"metric": m} for m in ("precision", "recall", "f1")],
            "minLabelledRows": 1,
        }
    )
    got = _values(
        spec, _joined(class_texts(pa.array(truth)), class_texts(pa.array(prediction)), None)
    )
    for name, reference in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        expected = reference(truth, prediction, average="macro", zero_division=0)
        assert got[name] == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(4))
def test_regression_metrics_agree_with_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(10, 3, 300)
    prediction = truth + rng.normal(0.5, 1.5, 300)
    spec = QualitySpec.model_validate(
        {
            "task": "regression",
            "prediction": "output.value.0",
            "minLabelledRows": 1,
            "metrics": [{"metric": "mae"}, {"metric": "rmse", "max": 1.0}],
        }
    )
    got = _values(spec, _joined(truth, prediction, None))
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(truth, prediction))
    assert got["rmse"] == pytest.approx(skm.root_mean_squared_error(truth, prediction))


def test_auc_of_a_single_class_is_absent_and_decides_nothing() -> None:
    spec = classification(metrics=[{"metric": "auc", "min": 0.8}])
    ones = np.array(["1", "1", "1"], dtype=object)
    evaluation = evaluate_joined(
        spec, _joined(ones, ones, np.array([0.2, 0.5, 0.9])), START, END, END
    )
    assert evaluation.metrics[0].value is None
    assert evaluation.metrics[0].passed is None
    assert not evaluation.degraded


def test_a_metric_outside_its_threshold_degrades_the_window() -> None:
    spec = classification(metrics=[{"metric": "accuracy", "min": 0.9}, {"metric": "f1"}])
    truth = np.array(["1", "0", "1", "0"], dtype=object)
    prediction = np.array(["1", "0", "0", "0"], dtype=object)
    evaluation = evaluate_joined(spec, _joined(truth, prediction, None), START, END, END)
    assert [(m.metric, m.value, m.passed) for m in evaluation.metrics] == [
        ("accuracy", 0.75, False),
        ("f1", pytest.approx(2 / 3), None),
    ]
    assert evaluation.degraded


def test_too_few_labelled_rows_reports_insufficient_data_without_metrics() -> None:
    spec = classification(minLabelledRows=5, metrics=[{"metric": "accuracy", "min": 0.9}])
    ones = np.array(["1", "0"], dtype=object)
    evaluation = evaluate_joined(spec, _joined(ones, ones, None), START, END, END)
    assert evaluation.insufficient_data
    assert evaluation.metrics == []
    assert not evaluation.degraded


def test_numeric_predictions_and_text_labels_name_the_same_classes() -> None:
    assert class_texts(pa.array([1.0, 0.0, 2.5, None])).tolist() == ["1", "0", "2.5", None]
    assert class_texts(pa.array(["1", "1.0", " 0", "cat", None])).tolist() == [
        "1",
        "1",
        "0",
        "cat",
        None,
    ]


def test_a_late_label_counts_into_its_predictions_window_until_the_delay() -> None:
    spec = classification(metrics=[{"metric": "accuracy"}])
    until = labels_until(END, END + timedelta(hours=5), timedelta(hours=2))
    assert until == END + timedelta(hours=2)
    rows = [
        ("a", "1", START + timedelta(minutes=5), START + timedelta(minutes=6)),
        ("b", "0", END + timedelta(minutes=90), END + timedelta(minutes=91)),  # late, in time
        ("c", "1", END + timedelta(hours=3), END + timedelta(hours=3)),  # past the delay
    ]
    labels = newest_feedback([feedback(rows)], "label", until)
    joined = join_window([payload(["a", "b", "c"], [1.0, 1.0, 1.0])], labels, spec, START, END)
    assert joined.truth.tolist() == ["1", "0"]
    assert joined.prediction.tolist() == ["1", "1"]
    assert (joined.predictions, joined.unmatched_feedback) == (3, 0)


def test_the_newest_feedback_of_a_request_wins_and_a_null_label_retracts_it() -> None:
    early, late = START + timedelta(minutes=1), START + timedelta(minutes=2)
    rows = [
        ("a", "0", early, late),
        ("a", "1", early, early),
        ("b", "1", early, early),
        ("b", None, early, late),
    ]
    labels = newest_feedback([feedback(rows)], "label", END)
    assert labels.to_pydict()["request_id"] == ["a"]
    assert labels.to_pydict()["_truth"] == ["0"]


def test_a_request_id_with_several_payload_rows_is_left_out_as_ambiguous() -> None:
    spec = classification(metrics=[{"metric": "accuracy"}])
    at = START + timedelta(minutes=1)
    labels = newest_feedback([feedback([("a", "1", at, at), ("b", "1", at, at)])], "label", END)
    batches = [payload(["a", "b"], [1.0, 1.0]), payload(["b", "z"], [0.0, 0.0])]
    batches.append(payload(["z"], [1.0]))  # b and z twice; z has no label, so it is no concern
    joined = join_window(batches, labels, spec, START, END)
    assert joined.truth.tolist() == ["1"]
    assert (joined.ambiguous_rows, joined.predictions) == (2, 5)


def test_feedback_that_matches_no_prediction_in_the_window_is_counted_unmatched() -> None:
    spec = classification(metrics=[{"metric": "accuracy"}])
    inside, before = START + timedelta(minutes=1), START - timedelta(minutes=1)
    labels = newest_feedback(
        [
            feedback(
                [
                    ("a", "1", inside, inside),
                    ("x", "1", inside, inside),
                    ("y", "0", before, before),
                    ("w", "0", END, END),
                ]
            )
        ],
        "label",
        END + timedelta(hours=1),
    )
    joined = join_window([payload(["a"], [1.0])], labels, spec, START, END)
    assert joined.unmatched_feedback == 1  # x; y and w were observed outside the window
    assert joined.truth.size == 1


def test_a_window_without_payload_logs_has_no_labelled_rows() -> None:
    spec = classification(metrics=[{"metric": "accuracy"}])
    at = START + timedelta(minutes=1)
    labels = newest_feedback([feedback([("a", "1", at, at)])], "label", END)
    joined = join_window([], labels, spec, START, END)
    assert (joined.truth.size, joined.predictions, joined.unmatched_feedback) == (0, 0, 1)


def test_the_scored_window_is_the_drift_window_moved_back_by_the_label_delay() -> None:
    assert scored_window(START, END, timedelta(hours=6)) == (
        START - timedelta(hours=6),
        END - timedelta(hours=6),
    )


def test_regression_joins_the_feedback_value_to_the_logged_number() -> None:
    spec = QualitySpec.model_validate(
        {
            "task": "regression",
            "prediction": "output.label.0",
            "minLabelledRows": 1,
            "metrics": [{"metric": "mae", "max": 1.0}],
        }
    )
    at = START + timedelta(minutes=1)
    batch = feedback([("a", None, at, at), ("b", None, at, at), ("c", None, at, at)])
    values = batch.set_column(3, "value", pa.array([2.0, 4.5, None], pa.float64()))
    labels = newest_feedback([values], "value", END)
    joined = join_window(
        [payload(["a", "b", "c", "d"], [1.0, 5.0, 3.0, 0.0])], labels, spec, START, END
    )
    evaluation = evaluate_joined(spec, joined, START, END, END)
    assert evaluation.labelled_rows == 2  # c has no value, d no feedback
    assert evaluation.metrics[0].value == pytest.approx(0.75)
    assert evaluation.metrics[0].passed is True
