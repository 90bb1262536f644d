"""Judge one analysis interval: measure every configured check and decide.

All checks must pass. With fewer than `minSamples` candidate requests in the interval the
verdict is `inconclusive` (each measurement recorded without `passed`), never a pass; a source
that cannot be read is inconclusive too, with the reason in the message. The rollout state
machine counts the verdicts (`failureLimit`, consecutive passes of an analysis step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from modelplane_crds.drift_results import DriftTestName
from modelplane_crds.model_deployment import Analysis, CheckName, Measurement
from modelplane_operator.analysis.condition import InvalidCondition, SuccessCondition
from modelplane_operator.analysis.prometheus import PrometheusClient
from modelplane_operator.analysis.sources import Sample, ShadowCounts, SourceError
from modelplane_operator.analysis.targets import Target
from modelplane_operator.rollout.machine import Verdict


class MetricsSource(Protocol):
    """Where variant samples come from (Prometheus or direct scrape)."""

    def sample(self, target: Target, window_s: float) -> Sample:
        """The variant's last interval."""
        ...

    def shadow(self, stable: Target, candidate: Target, window_s: float) -> ShadowCounts:
        """The stable pods' comparisons of the candidate's shadow answers, last interval."""
        ...

    def shadow_total(self, stable: Target, candidate: Target) -> ShadowCounts:
        """The same, since the stable pods started."""
        ...


DriftMeasure = Callable[[Target, Target, float, DriftTestName], tuple[float, int] | None]
"""(candidate, stable, window seconds, test) → (statistic, candidate rows), or None without
data."""


@dataclass(frozen=True)
class Observed:
    """One check's value before judging."""

    check: CheckName
    value: float | None
    threshold: float
    passed: bool | None


def _limit(value: float | None, threshold: float, check: CheckName) -> Observed:
    return Observed(check, value, threshold, None if value is None else value <= threshold)


def observe(
    analysis: Analysis,
    sample: Sample,
    candidate: Target,
    stable: Target | None,
    window_s: float,
    prometheus: Callable[[str | None], PrometheusClient] | None,
    drift: DriftMeasure | None,
    shadow: ShadowCounts | None = None,
) -> list[Observed]:
    """Values of every configured check for the candidate's interval (`shadow`: the stable
    pods' comparisons of the candidate's answers in it)."""
    checks = analysis.checks
    found: list[Observed] = []
    if checks.error_rate is not None:
        value = sample.error_rate if sample.requests > 0 else None
        found.append(_limit(value, checks.error_rate.max, "errorRate"))
    if checks.latency_p99 is not None:
        p99 = None if sample.p99_s is None else sample.p99_s * 1000
        found.append(_limit(p99, checks.latency_p99.max_ms, "latencyP99"))
    if checks.schema_violation_rate is not None:
        value = sample.violation_rate if sample.requests > 0 else None
        found.append(_limit(value, checks.schema_violation_rate.max, "schemaViolationRate"))
    if checks.prometheus is not None:
        found.append(
            _custom(
                checks.prometheus.query,
                checks.prometheus.success_condition,
                checks.prometheus.address,
                candidate,
                prometheus,
            )
        )
    if checks.prediction_drift is not None:
        test = checks.prediction_drift.test
        measured = drift(candidate, stable, window_s, test) if drift and stable else None
        found.append(
            _limit(
                None if measured is None else measured[0],
                checks.prediction_drift.max,
                "predictionDrift",
            )
        )
    if checks.shadow_agreement is not None:
        rate = shadow.agreement_rate if shadow is not None else None
        minimum = checks.shadow_agreement.min
        found.append(
            Observed("shadowAgreement", rate, minimum, None if rate is None else rate >= minimum)
        )
    return found


def _custom(
    query: str,
    condition_text: str,
    address: str | None,
    candidate: Target,
    prometheus: Callable[[str | None], PrometheusClient] | None,
) -> Observed:
    condition = SuccessCondition.parse(condition_text)
    if prometheus is None:
        raise SourceError("a prometheus check needs a Prometheus address (spec or operator)")
    promql = query.replace("{{candidate}}", candidate.workload).replace(
        "{{namespace}}", candidate.namespace
    )
    value = prometheus(address).query(promql)
    passed = None if value is None else condition.holds(value)
    return Observed("prometheus", value, condition.limit(), passed)


def _failure(o: Observed) -> str:
    if o.check == "prometheus":
        return f"prometheus result {o.value:.4g} fails its successCondition"
    if o.check == "shadowAgreement":
        return f"shadowAgreement {o.value:.4g} < {o.threshold:.4g}"
    return f"{o.check} {o.value:.4g} > {o.threshold:.4g}"


def judge(
    analysis: Analysis,
    source: MetricsSource,
    candidate: Target,
    stable: Target | None,
    window_s: float,
    now: datetime,
    prometheus: Callable[[str | None], PrometheusClient] | None = None,
    drift: DriftMeasure | None = None,
) -> Verdict:
    """Measure and decide one interval."""
    shadow: ShadowCounts | None = None
    try:
        try:
            sample = source.sample(candidate, window_s)
        finally:  # both baselines are taken in the same pass
            if analysis.checks.shadow_agreement is not None and stable is not None:
                shadow = source.shadow(stable, candidate, window_s)
        observed = observe(analysis, sample, candidate, stable, window_s, prometheus, drift, shadow)
    except (SourceError, InvalidCondition) as exc:
        return Verdict("inconclusive", (), str(exc))
    samples = round(sample.requests)
    enough = samples >= analysis.min_samples
    measurements = tuple(
        Measurement(
            at=now,
            check=o.check,
            value=0.0 if o.value is None else round(o.value, 6),
            threshold=o.threshold,
            passed=o.passed if enough else None,
            samples=samples,
        )
        for o in observed
    )
    if not enough:
        return Verdict(
            "inconclusive",
            measurements,
            f"{samples} of {analysis.min_samples} samples needed to judge",
        )
    failed = [o for o in observed if o.passed is False]
    unknown = [o for o in observed if o.passed is None]
    if failed:
        detail = ", ".join(_failure(o) for o in failed)
        return Verdict("failed", measurements, detail)
    if unknown:
        names = ", ".join(o.check for o in unknown)
        return Verdict("inconclusive", measurements, f"no data for {names}")
    return Verdict("passed", measurements, "all checks passed")
