"""Builders of specs, statuses and facts for the rollout and monitor tests (pure; time is passed
in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modelplane_crds.model_deployment import ModelDeploymentSpec, ModelDeploymentStatus
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_crds.quality import QualityEvaluation
from modelplane_operator.builders.model_deployment import TrafficMode
from modelplane_operator.rollout.machine import Facts, Plan, Verdict, plan

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SHA = "a" * 64
OWNER: dict[str, Any] = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "ModelDeployment",
    "metadata": {"name": "fraud", "namespace": "mp-acme", "uid": "uid-1", "generation": 1},
}


def make_version(version: str = "1", **overrides: Any) -> ModelVersionSpec:
    """A valid ModelVersion spec (logistic regression over 4 features)."""
    values: dict[str, Any] = {
        "modelName": "fraud",
        "version": version,
        "artifact": {"uri": f"s3://models/fraud/{version}.onnx", "sha256": SHA},
        "signature": {
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
        },
        "features": [
            {"name": "amount", "type": "numerical", "input": "x", "index": 0},
            {"name": "country", "type": "categorical", "input": "x", "index": 1},
        ],
    }
    values.update(overrides)
    return ModelVersionSpec.model_validate(values)


def make_spec(
    candidate: str | None = "v2",
    steps: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> ModelDeploymentSpec:
    """A deployment of `v1` with an optional candidate and canary steps."""
    values: dict[str, Any] = {"stable": {"modelVersionRef": {"name": "v1"}}}
    if candidate is not None:
        values["candidate"] = {"modelVersionRef": {"name": candidate}}
    if steps is not None:
        values["strategy"] = {"canary": {"steps": steps}}
    values.update(overrides)
    return ModelDeploymentSpec.model_validate(values)


def facts(
    now: datetime = T0,
    ready: dict[str, int] | None = None,
    mode: TrafficMode = "HTTPRoute",
    versions: dict[str, bool] | None = None,
    promote: bool = False,
    verdict: Verdict | None = None,
) -> Facts:
    """Observed facts; every ModelVersion v1..v4 Ready unless said otherwise."""
    return Facts(
        now=now,
        generation=1,
        mode=mode,
        namespace="mp-acme",
        name="fraud",
        ready_replicas=ready or {},
        versions=versions if versions is not None else {f"v{i}": True for i in range(1, 5)},
        promote=promote,
        verdict=verdict,
    )


def roundtrip(status: ModelDeploymentStatus) -> ModelDeploymentStatus:
    """The status as it comes back from the API server (what a restarted operator reads)."""
    return ModelDeploymentStatus.model_validate(status.to_wire())


def run(spec: ModelDeploymentSpec, status: ModelDeploymentStatus | None, f: Facts) -> Plan:
    """One pass, with the status serialised and parsed back as the API server would."""
    result = plan(spec, status, f)
    result.status = roundtrip(result.status)
    return result


def settled(
    spec: ModelDeploymentSpec, ready: dict[str, int], mode: TrafficMode = "HTTPRoute"
) -> ModelDeploymentStatus:
    """The status of a deployment serving v1 with no rollout yet."""
    return run(make_spec(None), None, facts(T0 - timedelta(hours=1), ready, mode)).status


def reasons(p: Plan) -> list[str]:
    """Event reasons of a plan."""
    return [e.reason for e in p.events]


def condition(status: ModelDeploymentStatus, type_: str) -> tuple[str, str] | None:
    """(status, reason) of a condition."""
    for c in status.conditions:
        if c.type == type_:
            return c.status, c.reason
    return None


def replicas(p: Plan) -> dict[str, int | None]:
    """Planned replicas per version."""
    return {v.version: v.replicas for v in p.variants}


def quality_evaluation(
    end: datetime,
    version: str,
    mae: float | None,
    labelled: int = 200,
    max_: float = 0.2,
) -> QualityEvaluation:
    """One version's scored window of a regression with one `mae` metric against `max_` (None:
    too few labels, no metrics)."""
    metrics = [] if mae is None else [{"metric": "mae", "value": mae, "max": max_,
                                       "passed": mae <= max_, "rows": labelled}]  # fmt: skip
    return QualityEvaluation.model_validate(
        {
            "windowStart": end - timedelta(hours=1),
            "windowEnd": end,
            "labelsUntil": end,
            "modelVersion": version,
            "predictions": 2 * labelled,
            "labelledRows": labelled,
            "ambiguousRows": 0,
            "unmatchedFeedback": 0,
            "metrics": metrics,
            "degraded": mae is not None and mae > max_,
            "insufficientData": mae is None,
        }
    )
