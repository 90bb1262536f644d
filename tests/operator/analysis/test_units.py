"""Analysis arithmetic and judging, without processes: conditions, histograms, deltas, verdicts."""

from __future__ import annotations

import math

import pytest

from modelplane_crds.model_deployment import Analysis
from modelplane_operator.analysis.checks import judge
from modelplane_operator.analysis.condition import InvalidCondition, SuccessCondition
from modelplane_operator.analysis.scrape import ScrapeSource
from modelplane_operator.analysis.sources import (
    Sample,
    ShadowCounts,
    Snapshot,
    SourceError,
    histogram_quantile,
    parse_snapshot,
)
from modelplane_operator.analysis.targets import Target
from tests.operator.factories import T0

CANDIDATE = Target("mp-acme", "fraud", "v2", "fraud", "2", "fraud-v2", ("http://pod-a",))
STABLE = Target("mp-acme", "fraud", "v1", "fraud", "1", "fraud-v1", ("http://pod-b",))


def _page(ok: int, errors: int, violations: int, fast: int, slow: int) -> str:
    v2 = 'model="fraud",version="2"'
    hist = "modelplane_runtime_request_duration_seconds"
    return f"""# TYPE modelplane_runtime_requests_total counter
modelplane_runtime_requests_total{{code="200",{v2}}} {ok}
modelplane_runtime_requests_total{{code="500",{v2}}} {errors}
modelplane_runtime_requests_total{{code="200",model="other",version="9"}} 1000
# TYPE modelplane_runtime_schema_violations_total counter
modelplane_runtime_schema_violations_total{{{v2},violation="shape"}} {violations}
# TYPE {hist} histogram
{hist}_bucket{{le="0.01",{v2}}} {fast}
{hist}_bucket{{le="0.1",{v2}}} {fast + slow}
{hist}_bucket{{le="+Inf",{v2}}} {fast + slow}
{hist}_sum{{{v2}}} 1.0
{hist}_count{{{v2}}} {fast + slow}
"""


@pytest.mark.parametrize(
    ("text", "result", "holds"),
    [
        ("result < 0.05", 0.01, True),
        ("result < 0.05", 0.05, False),
        ("result<=0.05", 0.05, True),
        ("result > -1.5", -1.0, True),
        ("result >= 10", 9.99, False),
        ("result == 1", 1.0, True),
        ("result != 1", 1.0, False),
        ("result < 1", math.nan, False),
    ],
)
def test_success_conditions_compare_the_result_with_the_bound(
    text: str, result: float, holds: bool
) -> None:
    assert SuccessCondition.parse(text).holds(result) is holds


@pytest.mark.parametrize(
    "text", ["result < x", "__import__('os')", "result < 1 or True", "value < 1", ""]
)
def test_anything_but_result_op_number_is_refused(text: str) -> None:
    with pytest.raises(InvalidCondition, match=r"result < 0\.05"):
        SuccessCondition.parse(text)


def test_histogram_quantile_interpolates_like_prometheus() -> None:
    buckets = {0.1: 50.0, 0.2: 90.0, 0.5: 100.0, math.inf: 100.0}
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.2 + 0.3 * 9 / 10)
    assert histogram_quantile(0.99, {0.1: 0.0, math.inf: 5.0}) == pytest.approx(0.1)
    assert histogram_quantile(0.99, {0.1: 0.0, math.inf: 0.0}) is None


def test_parse_snapshot_keeps_only_the_variant_series_and_deltas_give_rates() -> None:
    labels = {"model": "fraud", "version": "2"}
    before = parse_snapshot(_page(10, 0, 0, 10, 0), labels)
    after = parse_snapshot(_page(100, 10, 5, 90, 20), labels)
    sample = after.minus(before)
    assert sample.requests == 100
    assert sample.errors == 10
    assert sample.error_rate == pytest.approx(0.1)
    assert sample.violation_rate == pytest.approx(0.05)
    assert sample.p99_s is not None
    assert 0.01 < sample.p99_s <= 0.1


def test_a_counter_that_went_down_counts_from_zero() -> None:
    labels = {"model": "fraud", "version": "2"}
    before = parse_snapshot(_page(500, 50, 0, 550, 0), labels)
    restarted = parse_snapshot(_page(20, 0, 0, 20, 0), labels)
    assert restarted.minus(before).requests == 20


def test_malformed_metrics_are_a_source_error() -> None:
    with pytest.raises(SourceError):
        parse_snapshot("modelplane_runtime_requests_total{code= 1 2 3 {{", {})


def test_scrape_source_needs_a_baseline_then_measures_per_pod_increases() -> None:
    pages = iter([_page(10, 0, 0, 10, 0), _page(110, 0, 0, 110, 0)])
    source = ScrapeSource(fetch=lambda url: next(pages))
    with pytest.raises(SourceError, match="baseline"):
        source.sample(CANDIDATE, 60)
    assert source.sample(CANDIDATE, 60).requests == 100


def test_scrape_source_ignores_a_pod_it_sees_for_the_first_time() -> None:
    pages = {"http://pod-a/metrics": _page(10, 0, 0, 10, 0)}
    source = ScrapeSource(fetch=lambda url: pages[url])
    with pytest.raises(SourceError):
        source.sample(CANDIDATE, 60)
    pages = {
        "http://pod-a/metrics": _page(30, 0, 0, 30, 0),
        "http://pod-c/metrics": _page(900, 900, 0, 1800, 0),
    }
    two_pods = Target(**{**CANDIDATE.__dict__, "endpoints": ("http://pod-a", "http://pod-c")})
    sample = source.sample(two_pods, 60)
    assert (sample.requests, sample.errors) == (20, 0)


class _Fixed:
    """A metrics source that returns one prepared sample (or fails)."""

    def __init__(self, sample: Sample | None, shadow: ShadowCounts | None = None) -> None:
        self.result = sample
        self.counts = shadow

    def sample(self, target: Target, window_s: float) -> Sample:
        if self.result is None:
            raise SourceError("prometheus unreachable")
        return self.result

    def shadow(self, stable: Target, candidate: Target, window_s: float) -> ShadowCounts:
        if self.counts is None:
            raise SourceError("no shadow counts")
        return self.counts

    def shadow_total(self, stable: Target, candidate: Target) -> ShadowCounts:
        return self.shadow(stable, candidate, 0)


def _analysis(**checks: object) -> Analysis:
    return Analysis.model_validate(
        {"interval": "1m", "minSamples": 50, "checks": checks or {"errorRate": {"max": 0.05}}}
    )


def test_enough_healthy_samples_pass_with_every_measurement_recorded() -> None:
    analysis = _analysis(
        errorRate={"max": 0.05}, latencyP99={"maxMs": 50}, schemaViolationRate={"max": 0.01}
    )
    verdict = judge(analysis, _Fixed(Sample(200, 2, 0, 0.012)), CANDIDATE, STABLE, 60, T0)
    assert verdict.outcome == "passed"
    values = {m.check: (m.value, m.threshold, m.passed, m.samples) for m in verdict.measurements}
    assert values == {
        "errorRate": (0.01, 0.05, True, 200),
        "latencyP99": (12.0, 50.0, True, 200),
        "schemaViolationRate": (0.0, 0.01, True, 200),
    }


def test_a_single_failing_check_fails_the_interval_and_says_which() -> None:
    analysis = _analysis(errorRate={"max": 0.05}, latencyP99={"maxMs": 50})
    verdict = judge(analysis, _Fixed(Sample(200, 0, 0, 0.2)), CANDIDATE, STABLE, 60, T0)
    assert verdict.outcome == "failed"
    assert "latencyP99 200 > 50" in verdict.message


def test_too_few_samples_are_inconclusive_even_when_every_check_would_fail() -> None:
    verdict = judge(_analysis(), _Fixed(Sample(10, 10, 0, 1.0)), CANDIDATE, STABLE, 60, T0)
    assert verdict.outcome == "inconclusive"
    assert "10 of 50" in verdict.message
    assert [m.passed for m in verdict.measurements] == [None]


def test_an_unreadable_source_is_inconclusive_never_a_pass() -> None:
    verdict = judge(_analysis(), _Fixed(None), CANDIDATE, STABLE, 60, T0)
    assert verdict.outcome == "inconclusive"
    assert "unreachable" in verdict.message


def test_drift_check_uses_the_measure_given_and_is_inconclusive_without_data() -> None:
    analysis = _analysis(predictionDrift={"test": "jsd", "max": 0.1})
    source = _Fixed(Sample(500, 0, 0, 0.01))
    drifted = judge(
        analysis, source, CANDIDATE, STABLE, 60, T0, drift=lambda c, s, w, t: (0.4, 500)
    )
    assert drifted.outcome == "failed"
    assert drifted.measurements[0].check == "predictionDrift"
    nodata = judge(analysis, source, CANDIDATE, STABLE, 60, T0, drift=lambda c, s, w, t: None)
    assert nodata.outcome == "inconclusive"


def test_snapshot_sums_pods() -> None:
    a = Snapshot({"200": 1.0}, 1.0, {math.inf: 1.0})
    b = Snapshot({"200": 2.0, "500": 1.0}, 0.0, {math.inf: 3.0})
    total = a.add(b)
    assert total.codes == {"200": 3.0, "500": 1.0}
    assert total.buckets == {math.inf: 4.0}


def _shadow_page(agree: int, disagree: int, error: int) -> str:
    v1 = 'model="fraud",version="1"'
    name = "modelplane_runtime_shadow_comparisons_total"
    return f"""# TYPE {name} counter
{name}{{{v1},shadow_version="2",result="agree"}} {agree}
{name}{{{v1},shadow_version="2",result="disagree"}} {disagree}
{name}{{{v1},shadow_version="2",result="error"}} {error}
{name}{{{v1},shadow_version="7",result="agree"}} 5000
"""


def test_shadow_comparisons_are_read_from_the_stable_pods_for_this_candidate_only() -> None:
    pages = iter([_shadow_page(10, 0, 0), _shadow_page(100, 7, 3), _shadow_page(100, 7, 3)])
    source = ScrapeSource(fetch=lambda url: next(pages))
    with pytest.raises(SourceError, match="baseline"):
        source.shadow(STABLE, CANDIDATE, 60)
    interval = source.shadow(STABLE, CANDIDATE, 60)
    assert (interval.agreed, interval.disagreed, interval.errors) == (90, 7, 3)
    assert interval.agreement_rate == 0.9  # a refused copy is a disagreement
    total = source.shadow_total(STABLE, CANDIDATE)
    assert (total.comparisons, total.errors) == (110, 3)  # version 7's copies are not counted


def test_shadow_agreement_below_its_minimum_fails_the_interval() -> None:
    analysis = _analysis(shadowAgreement={"min": 0.95})
    low = judge(
        analysis, _Fixed(Sample(200, 0, 0, 0.01), ShadowCounts(90, 10)), CANDIDATE, STABLE, 60, T0
    )
    assert low.outcome == "failed"
    assert "shadowAgreement 0.9 < 0.95" in low.message
    high = judge(
        analysis, _Fixed(Sample(200, 0, 0, 0.01), ShadowCounts(99, 1)), CANDIDATE, STABLE, 60, T0
    )
    assert high.outcome == "passed"
    assert [(m.check, m.value, m.threshold) for m in high.measurements] == [
        ("shadowAgreement", 0.99, 0.95)
    ]
    none = judge(
        analysis, _Fixed(Sample(200, 0, 0, 0.01), ShadowCounts(0, 0, 5)), CANDIDATE, STABLE, 60, T0
    )
    assert none.outcome == "failed"  # a candidate that fails every copy agrees with nothing
    assert "shadowAgreement 0 < 0.95" in none.message
