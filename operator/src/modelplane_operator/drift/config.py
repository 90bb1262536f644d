"""What to test and how to decide: the drift job's configuration.

The DriftMonitor spec maps onto these models field for field, and the cluster-free job takes the
same JSON on the command line, so both paths run one code path. Defaults follow the common
practice also used by Evidently (p-value tests on small references, distances with a 0.1
threshold on large ones, a dataset counts as drifted when half its features drift), so results
are comparable with what users already know.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field, model_validator

from modelplane_crds.base import K8sModel
from modelplane_crds.drift_results import DriftTestName

FeatureKind = Literal["numerical", "categorical"]
Correction = Literal["none", "bonferroni", "bh-fdr"]

NUMERICAL_TESTS: frozenset[str] = frozenset({"psi", "ks", "jsd", "wasserstein"})
CATEGORICAL_TESTS: frozenset[str] = frozenset({"psi", "chi2", "jsd"})


class FeatureSpec(K8sModel):
    """One column to watch, with optional per-feature overrides."""

    name: str = Field(min_length=1)
    """Name reported in the results."""

    column: str | None = None
    """Payload-log column; defaults to `feature.<name>` (inputs) or `output.<name>` (outputs)."""

    kind: FeatureKind = "numerical"
    """numerical (float64 values) or categorical (string values)."""

    test: DriftTestName | None = None
    """Force a test instead of the automatic choice."""

    threshold: float | None = Field(default=None, ge=0)
    """Override the distance threshold (psi, jsd, wasserstein)."""

    alpha: float | None = Field(default=None, gt=0, lt=1)
    """Override the significance level (ks, chi2)."""

    @model_validator(mode="after")
    def _test_fits_kind(self) -> FeatureSpec:
        allowed = NUMERICAL_TESTS if self.kind == "numerical" else CATEGORICAL_TESTS
        if self.test is not None and self.test not in allowed:
            raise ValueError(
                f"feature {self.name!r}: test {self.test!r} does not apply to {self.kind} "
                f"features (use one of {', '.join(sorted(allowed))})"
            )
        return self


class ProfileParams(K8sModel):
    """Settings that shape the cached reference profile (part of its cache key)."""

    bins: int = Field(default=10, ge=2, le=1000)
    """Number of quantile bins for PSI and binned Jensen-Shannon on numerical features."""

    reference_sample_size: int = Field(default=10_000, ge=100)
    """Largest sorted reference sample kept per feature for KS and Wasserstein."""

    seed: int = 0
    """Seed of the bounded samples, so that a rerun gives the same result."""

    def key(self) -> str:
        """A short stable digest of these settings."""
        text = json.dumps(self.model_dump(by_alias=True), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


class DriftConfig(K8sModel):
    """Everything one window evaluation needs besides the data."""

    features: list[FeatureSpec] = Field(default_factory=list)
    """Input features to test."""

    outputs: list[FeatureSpec] = Field(default_factory=list)
    """Model outputs to test for prediction drift."""

    min_samples: int = Field(default=100, ge=1)
    """Fewer window rows than this means no decision (insufficientData); a feature with fewer
    non-missing values than this is left out of the results."""

    small_reference: int = Field(default=1000, ge=1)
    """References up to this many rows get p-value tests (ks, chi2); larger ones distances."""

    alpha: float = Field(default=0.05, gt=0, lt=1)
    """Significance level of ks and chi2."""

    correction: Correction = "none"
    """Multiple-testing correction over the p-value tests of one evaluation."""

    psi_threshold: float = Field(default=0.2, ge=0)
    """PSI at or above which a feature counts as drifted."""

    jsd_threshold: float = Field(default=0.1, ge=0, le=1)
    """Jensen-Shannon distance at or above which a feature counts as drifted."""

    wasserstein_threshold: float = Field(default=0.1, ge=0)
    """Wasserstein distance, in reference standard deviations, at or above which a feature
    counts as drifted."""

    dataset_drift_share: float = Field(default=0.5, ge=0, le=1)
    """Share of drifted features at or above which the dataset counts as drifted."""

    window_sample_size: int = Field(default=50_000, ge=100)
    """Largest window sample (rows) kept for KS and Wasserstein; histogram and category counts
    always use every row."""

    profile: ProfileParams = Field(default_factory=ProfileParams)
    """Settings of the reference profile."""

    def threshold_for(self, test: str) -> float:
        """Default decision threshold of a test."""
        return {
            "ks": self.alpha,
            "chi2": self.alpha,
            "psi": self.psi_threshold,
            "jsd": self.jsd_threshold,
            "wasserstein": self.wasserstein_threshold,
        }[test]


def column_of(spec: FeatureSpec, *, output: bool) -> str:
    """The payload-log column a spec reads."""
    if spec.column:
        return spec.column
    return f"output.{spec.name}" if output else f"feature.{spec.name}"
