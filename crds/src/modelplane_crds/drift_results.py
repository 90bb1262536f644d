"""The result of one drift evaluation, shared by the drift job and the DriftMonitor status.

The drift engine produces exactly this structure and the operator copies it into the monitor's
status unchanged, so there is one definition of what "drifted" means on the wire. The shapes are
kept flat and small so that the generated CRD schema stays structural and `kubectl explain` reads
well: scalars, a few lists of objects, no maps with free-form values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from modelplane_crds.base import K8sModel

DriftTestName = Literal["psi", "ks", "chi2", "jsd", "wasserstein"]
"""The statistical tests a drift monitor can run on one feature."""

P_VALUE_TESTS: frozenset[str] = frozenset({"ks", "chi2"})
"""Tests that decide on a p-value (drifted when pValue < threshold); the others decide on a
distance (drifted when statistic >= threshold)."""


class FeatureDriftResult(K8sModel):
    """The outcome of one drift test on one feature (or one model output)."""

    feature: str = Field(min_length=1)
    """Name of the feature or model output: the payload-log column without its `feature.` or
    `output.` prefix (inputs logged without a feature schema keep their full `input.…` name)."""

    test: DriftTestName
    """The test that was run: psi (population stability index), ks (two-sample
    Kolmogorov-Smirnov), chi2 (chi-squared on category counts), jsd (Jensen-Shannon distance) or
    wasserstein (earth mover's distance divided by the reference's standard deviation)."""

    statistic: float = Field(ge=0)
    """The test statistic: the PSI value, the KS distance D, the chi-squared statistic, the
    Jensen-Shannon distance (base 2, between 0 and 1) or the Wasserstein distance in reference
    standard deviations."""

    p_value: float | None = Field(default=None, ge=0, le=1)
    """For ks and chi2 only: the p-value after the monitor's multiple-testing correction
    (none, bonferroni or bh-fdr). Absent for distance tests."""

    threshold: float = Field(ge=0)
    """The decision threshold: the significance level alpha for ks and chi2 (drifted when pValue
    is below it), otherwise the distance at or above which the feature counts as drifted."""

    drifted: bool
    """Whether this feature drifted in the window."""

    samples: int = Field(ge=0)
    """Number of non-missing window values the test used (after any bounded sampling)."""


class DatasetDrift(K8sModel):
    """Whether the data as a whole drifted: enough of its features drifted."""

    share: float = Field(ge=0, le=1)
    """Fraction of the tested features that drifted (0 to 1)."""

    threshold: float = Field(ge=0, le=1)
    """The share of drifted features at or above which the dataset counts as drifted."""

    drifted: bool
    """Whether the dataset drifted in the window."""


class DriftEvaluation(K8sModel):
    """One evaluation of a window of logged traffic against the reference."""

    window_start: datetime
    """Start of the evaluated window (inclusive, UTC)."""

    window_end: datetime
    """End of the evaluated window (exclusive, UTC)."""

    samples: int = Field(ge=0)
    """Number of logged rows found in the window."""

    features: list[FeatureDriftResult] = Field(default_factory=list)
    """Per-feature results on the model inputs. Empty when the window had too few rows."""

    dataset: DatasetDrift | None = None
    """Drift of the input features taken together. Absent when the window had too few rows."""

    prediction_drift: list[FeatureDriftResult] = Field(default_factory=list)
    """Per-output results on the model's predictions, tested the same way as the inputs."""

    insufficient_data: bool = False
    """True when the window held fewer rows than the monitor's minimum sample size, so no
    decision was made."""
