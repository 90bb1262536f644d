"""Canary analysis against real serving-runtime processes and a real Prometheus.

Three runtimes serve model `fraud`: version 1 (stable) and 2 (a healthy candidate) are logistic
regressions, version 3 fails inside onnxruntime on every request (500s), version 4 is a slow
MLP-like chain (p99 far above the limit). One Debian Prometheus scrapes them every second. The
verdicts feed the rollout state machine, which must roll the failing candidate back and promote
the healthy one, with the decision and its measurements in status.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from modelplane_crds.model_deployment import Analysis
from modelplane_operator.analysis.checks import judge
from modelplane_operator.analysis.prometheus import PrometheusClient, PrometheusSource
from modelplane_operator.analysis.scrape import ScrapeSource
from modelplane_operator.analysis.targets import Target
from modelplane_operator.rollout.machine import analysis_due
from tests.onnx_models import linear_model, slow_model
from tests.operator.analysis.backends import Prometheus, Runtime, failing_model, send
from tests.operator.factories import T0, facts, make_spec, run, settled

# Real processes (runtimes, Prometheus): an integration test. `make test` installs Debian's
# prometheus first (scripts/setup.sh), so a missing binary is a failure, not a skip.
pytestmark = pytest.mark.integration

WINDOW_S = 60.0


class Backends:
    """The running processes and their targets."""

    def __init__(self, root: Path) -> None:
        self.stable = Runtime(linear_model(4, seed=0), "fraud", "1", root / "v1")
        self.healthy = Runtime(linear_model(4, seed=5), "fraud", "2", root / "v2")
        self.failing = Runtime(failing_model(4), "fraud", "3", root / "v3")
        self.slow = Runtime(slow_model(256, layers=60), "fraud", "4", root / "v4")
        self.runtimes = [self.stable, self.healthy, self.failing, self.slow]
        self.prometheus = Prometheus(
            [r.url.removeprefix("http://") for r in self.runtimes], root / "prometheus"
        )

    def target(self, runtime: Runtime) -> Target:
        return Target(
            "mp-acme",
            "fraud",
            f"v{runtime.version}",
            "fraud",
            runtime.version,
            f"fraud-v{runtime.version}",
            (runtime.url,),
        )

    def stop(self) -> None:
        for runtime in self.runtimes:
            runtime.stop()
        self.prometheus.stop()


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    root = tmp_path_factory.mktemp("analysis")
    started = Backends(root)
    try:
        for runtime in started.runtimes:
            runtime.wait_ready()
        started.prometheus.wait_ready()
        started.prometheus.wait_scraped(len(started.runtimes))
        time.sleep(1.5)  # a scrape of the zero counters before any traffic
        send([(started.stable, 40), (started.healthy, 40), (started.failing, 40)])
        send([(started.slow, 25)], n_features=256)
        time.sleep(3)  # two more scrapes after the traffic
        yield started
    finally:
        started.stop()
        shutil.rmtree(root, ignore_errors=True)


def _analysis(min_samples: int = 20, **checks: object) -> Analysis:
    return Analysis.model_validate(
        {
            "interval": "1m",
            "minSamples": min_samples,
            "failureLimit": 1,
            "checks": checks or {"errorRate": {"max": 0.05}, "schemaViolationRate": {"max": 0.05}},
        }
    )


def _prometheus(backends: Backends) -> PrometheusSource:
    return PrometheusSource(PrometheusClient(backends.prometheus.url), namespace_label=None)


def test_prometheus_judges_a_healthy_candidate_passed_with_its_measurements(
    backends: Backends,
) -> None:
    analysis = _analysis(
        errorRate={"max": 0.05}, latencyP99={"maxMs": 1000}, schemaViolationRate={"max": 0.05}
    )
    verdict = judge(
        analysis,
        _prometheus(backends),
        backends.target(backends.healthy),
        backends.target(backends.stable),
        WINDOW_S,
        T0,
    )
    assert verdict.outcome == "passed", verdict.message
    by_check = {m.check: m for m in verdict.measurements}
    assert by_check["errorRate"].value == 0.0
    assert 0 < by_check["latencyP99"].value < 1000
    assert by_check["errorRate"].samples >= 40  # increase() extrapolates a little at the edges


def test_prometheus_judges_a_candidate_answering_500_failed(backends: Backends) -> None:
    verdict = judge(
        _analysis(),
        _prometheus(backends),
        backends.target(backends.failing),
        backends.target(backends.stable),
        WINDOW_S,
        T0,
    )
    assert verdict.outcome == "failed"
    error_rate = next(m for m in verdict.measurements if m.check == "errorRate")
    assert error_rate.value == pytest.approx(1.0)
    assert error_rate.passed is False
    assert "errorRate" in verdict.message


def test_prometheus_judges_a_slow_candidate_failed_on_p99(backends: Backends) -> None:
    analysis = _analysis(latencyP99={"maxMs": 0.5}, errorRate={"max": 0.05})
    verdict = judge(
        analysis,
        _prometheus(backends),
        backends.target(backends.slow),
        backends.target(backends.stable),
        WINDOW_S,
        T0,
    )
    assert verdict.outcome == "failed", verdict.message
    p99 = next(m for m in verdict.measurements if m.check == "latencyP99")
    assert p99.value > 0.5
    assert next(m for m in verdict.measurements if m.check == "errorRate").passed is True


def test_custom_promql_check_uses_its_success_condition(backends: Backends) -> None:
    query = (
        'sum(increase(modelplane_runtime_requests_total{version="3",code=~"5.."}[1m]))'
        ' / sum(increase(modelplane_runtime_requests_total{version="3"}[1m]))'
    )
    analysis = _analysis(prometheus={"query": query, "successCondition": "result < 0.05"})
    client = PrometheusClient(backends.prometheus.url)
    verdict = judge(
        analysis,
        _prometheus(backends),
        backends.target(backends.failing),
        backends.target(backends.stable),
        WINDOW_S,
        T0,
        prometheus=lambda _: client,
    )
    assert verdict.outcome == "failed"
    assert verdict.measurements[0].check == "prometheus"
    assert verdict.measurements[0].value == pytest.approx(1.0, abs=0.01)
    assert verdict.measurements[0].threshold == 0.05


def test_prometheus_with_too_few_samples_is_inconclusive(backends: Backends) -> None:
    verdict = judge(
        _analysis(min_samples=10_000),
        _prometheus(backends),
        backends.target(backends.failing),
        backends.target(backends.stable),
        WINDOW_S,
        T0,
    )
    assert verdict.outcome == "inconclusive"
    assert all(m.passed is None for m in verdict.measurements)


def test_an_unreachable_prometheus_is_inconclusive() -> None:
    source = PrometheusSource(PrometheusClient("http://127.0.0.1:9", timeout_s=1))
    target = Target("mp-acme", "fraud", "v2", "fraud", "2", "fraud-v2")
    verdict = judge(_analysis(), source, target, None, WINDOW_S, T0)
    assert verdict.outcome == "inconclusive"
    assert "unreachable" in verdict.message


def test_direct_scrape_takes_a_baseline_then_judges_the_traffic_since(backends: Backends) -> None:
    source = ScrapeSource()
    healthy, failing = backends.target(backends.healthy), backends.target(backends.failing)
    stable = backends.target(backends.stable)
    assert judge(_analysis(), source, healthy, stable, WINDOW_S, T0).outcome == "inconclusive"
    assert judge(_analysis(), source, failing, stable, WINDOW_S, T0).outcome == "inconclusive"
    send([(backends.healthy, 30), (backends.failing, 30)])
    passed = judge(_analysis(), source, healthy, stable, WINDOW_S, T0)
    failed = judge(_analysis(), source, failing, stable, WINDOW_S, T0)
    assert passed.outcome == "passed", passed.message
    assert failed.outcome == "failed"
    assert failed.measurements[0].samples == 30
    assert failed.measurements[0].value == 1.0


@pytest.mark.parametrize(("runtime", "expected"), [("failing", "RolledBack"), ("healthy", "v2")])
def test_rollout_with_real_analysis_rolls_back_the_bad_candidate_and_promotes_the_good_one(
    backends: Backends, runtime: str, expected: str
) -> None:
    candidate = backends.target(getattr(backends, runtime))
    spec = make_spec(
        candidate.version,
        steps=[{"setWeight": 50}, {"analysis": {"intervals": 1}}, {"setWeight": 100}],
        analysis={
            "interval": "1m",
            "minSamples": 20,
            "failureLimit": 1,
            "checks": {"errorRate": {"max": 0.05}},
        },
    )
    pods = {"v1": 1, candidate.version: 1}
    status = settled(spec, {"v1": 1})
    now = T0
    for _ in range(4):
        verdict = None
        if analysis_due(spec, status, now):
            assert spec.analysis is not None
            verdict = judge(
                spec.analysis,
                _prometheus(backends),
                candidate,
                backends.target(backends.stable),
                WINDOW_S,
                now,
            )
        status = run(
            spec,
            status,
            facts(now, pods, verdict=verdict, versions={"v1": True, candidate.version: True}),
        ).status
        now += timedelta(minutes=1)
    assert status.analysis is not None
    assert status.analysis.measurements, "the decision's measurements are in status"
    measurement = status.analysis.measurements[-1]
    assert measurement.check == "errorRate"
    assert measurement.samples >= 20
    if expected == "RolledBack":
        assert status.rollout_state == "RolledBack"
        assert status.rollback is not None
        assert status.rollback.rejected_version == "v3"
        assert "errorRate" in status.rollback.message
        assert status.stable_version == "v1"
        assert measurement.passed is False
    else:
        assert status.stable_version == "v2"
        assert status.rollback is None
        assert measurement.passed is True
