"""Live quality from ground truth: what a DriftMonitor's `spec.quality` asks for and what one
evaluation reports in `status.lastQuality`.

The drift job joins the feedback rows the facade writes (`_feedback`, see `payload_logs`) to one
ModelVersion's payload-log rows by request id and scores the predictions of a window against
them. A prediction's label counts into the window of the prediction (its `ts`), even when the
label arrives later, up to `labelDelay` after the window's end. The job produces exactly
`QualityEvaluation` and the operator copies it into status unchanged, like `DriftEvaluation`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from modelplane_crds.base import Duration, K8sModel, Rule

QualityMetricName = Literal[
    "accuracy", "precision", "recall", "f1", "auc", "logLoss", "mae", "rmse"
]
"""The metrics a monitor can compute from ground truth."""

CLASSIFICATION_METRICS: frozenset[str] = frozenset(
    {"accuracy", "precision", "recall", "f1", "auc", "logLoss"}
)
REGRESSION_METRICS: frozenset[str] = frozenset({"mae", "rmse"})
SCORE_METRICS: frozenset[str] = frozenset({"auc", "logLoss"})
"""Metrics computed from the score column (the probability of the positive label)."""

OUTPUT_COLUMN = r"^output\.[A-Za-z0-9_.:/-]+$"


class QualityThreshold(K8sModel):
    """One metric to compute and, optionally, the range it must stay in."""

    cel_rules = (
        Rule(
            cel="!has(self.min) || !has(self.max) || self.min <= self.max",
            message="min must not exceed max",
            field_path=".max",
            check=lambda t: t.min is None or t.max is None or t.min <= t.max,
        ),
    )

    metric: QualityMetricName
    """`accuracy`, `precision`, `recall`, `f1`, `auc` (binary, from `score`) or `logLoss`
    (binary, from `score`) for classification; `mae` or `rmse` for regression."""

    min: float | None = None
    """The metric fails below this value (for accuracy, precision, recall, f1, auc)."""

    max: float | None = None
    """The metric fails above this value (for logLoss, mae, rmse)."""


class QualitySpec(K8sModel):
    """Score the deployment's predictions against the ground truth sent to the feedback
    endpoint."""

    cel_rules = (
        Rule(
            cel="self.task == 'classification' ? "
            "self.metrics.all(m, m.metric in ['accuracy', 'precision', 'recall', 'f1', 'auc', "
            "'logLoss']) : self.metrics.all(m, m.metric in ['mae', 'rmse'])",
            message="classification takes accuracy, precision, recall, f1, auc and logLoss; "
            "regression takes mae and rmse",
            field_path=".metrics",
            check=lambda q: all(
                t.metric
                in (CLASSIFICATION_METRICS if q.task == "classification" else REGRESSION_METRICS)
                for t in q.metrics
            ),
        ),
        Rule(
            cel="has(self.score) || !self.metrics.exists(m, m.metric in ['auc', 'logLoss'])",
            message="auc and logLoss need a score column",
            field_path=".score",
            check=lambda q: (
                q.score is not None or not any(t.metric in SCORE_METRICS for t in q.metrics)
            ),
        ),
        Rule(
            cel="self.task == 'classification' || "
            "(!has(self.score) && !has(self.positiveLabel) && !has(self.average))",
            message="score, positiveLabel and average apply only to classification",
            field_path=".task",
            check=lambda q: (
                q.task == "classification"
                or (q.score is None and q.positive_label is None and q.average is None)
            ),
        ),
        Rule(
            cel="!has(self.labelColumn) || self.task == 'classification' || "
            "self.labelColumn == 'value'",
            message="regression compares with the feedback's numeric value column",
            field_path=".labelColumn",
            check=lambda q: q.label_column in (None, "value") or q.task == "classification",
        ),
    )

    task: Literal["classification", "regression"]
    """What the model predicts: a class or a number."""

    prediction: str = Field(max_length=256, pattern=OUTPUT_COLUMN)
    """The payload-log output column holding the prediction, for example `output.label.0`.
    Classes are compared as text, integral numbers without decimals (`1.0` is the class `1`)."""

    score: str | None = Field(default=None, max_length=256, pattern=OUTPUT_COLUMN)
    """The payload-log output column holding the probability of `positiveLabel` (0 to 1), for
    example `output.probability.1`. Required for auc and logLoss."""

    label_column: Literal["label", "value"] | None = None
    """The feedback column holding the truth: `label` (text; the default for classification)
    or `value` (a number; the default and only choice for regression)."""

    positive_label: str | None = Field(default=None, min_length=1, max_length=256)
    """The class that counts as positive for binary precision, recall, f1, auc and logLoss;
    `1` when omitted."""

    average: Literal["binary", "macro"] | None = None
    """How precision, recall and f1 summarise the classes: `binary` (the default: of
    `positiveLabel` only) or `macro` (the unweighted mean over every class seen in truth or
    prediction)."""

    metrics: list[QualityThreshold] = Field(
        min_length=1,
        max_length=8,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["metric"],
        },
    )
    """The metrics to compute, each at most once, with their thresholds."""

    min_labelled_rows: int = Field(default=100, ge=1, le=100_000_000)
    """Fewest predictions with a label in a window for an evaluation to decide; with fewer, it
    reports insufficient data."""

    label_delay: Duration = "0s"
    """How long after a window's end its labels may still arrive. Each run scores the window
    that ended this long ago, with every label observed up to the run; `0s` scores the drift
    window with the labels arrived so far."""


class QualityMetricResult(K8sModel):
    """One metric of one window."""

    metric: QualityMetricName
    """The metric."""

    value: float | None = None
    """Its value; absent when it is undefined for the window (auc with one class only)."""

    min: float | None = None
    """The lower threshold from the spec, if any."""

    max: float | None = None
    """The upper threshold from the spec, if any."""

    passed: bool | None = None
    """Whether the value is within the thresholds; absent without thresholds or value."""

    rows: int = Field(ge=0)
    """Labelled predictions the metric used (auc and logLoss: those with a score)."""


class QualityEvaluation(K8sModel):
    """The quality of one ModelVersion's predictions in one window, from ground truth."""

    window_start: datetime
    """Start of the window of predictions (inclusive, UTC)."""

    window_end: datetime
    """End of the window of predictions (exclusive, UTC)."""

    labels_until: datetime
    """Feedback observed up to this time was read (the run's time, at most `labelDelay` after
    the window's end)."""

    model_version: str | None = Field(default=None, max_length=253)
    """The ModelVersion whose predictions were scored."""

    predictions: int = Field(ge=0)
    """Logged prediction rows in the window."""

    labelled_rows: int = Field(ge=0)
    """Predictions with exactly one logged row and a label."""

    ambiguous_rows: int = Field(ge=0)
    """Labelled rows left out because their request id has several rows in the window (a
    batched request, or an id reused): one label cannot tell which row it is the truth for."""

    unmatched_feedback: int = Field(ge=0)
    """Feedback rows observed in the window that matched no prediction of this version in it:
    labels of another version or of an earlier window, requests not sampled into the payload
    logs, or wrong ids."""

    metrics: list[QualityMetricResult] = Field(default_factory=list, max_length=8)
    """Per-metric results. Empty when the window had too few labelled rows."""

    degraded: bool = False
    """Whether any metric is outside its thresholds."""

    insufficient_data: bool = False
    """True when fewer than `minLabelledRows` predictions had a label, so no decision was
    made."""

    def breaches(self) -> list[str]:
        """Each metric outside its thresholds, for people: `mae 0.51 > max 0.2`."""
        return [
            outside_thresholds(m) for m in self.metrics if m.passed is False and m.value is not None
        ]


def outside_thresholds(result: QualityMetricResult) -> str:
    """`mae 0.31 > max 0.2`: a failed metric and the threshold it broke (the wording of the
    `QualityDegraded` condition, the rollout pause and the quality alerts)."""
    value = result.value if result.value is not None else float("nan")
    if result.min is not None and value < result.min:
        return f"{result.metric} {value:.4g} < min {result.min:g}"
    return f"{result.metric} {value:.4g} > max {result.max:g}"
