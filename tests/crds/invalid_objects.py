"""A table of invalid objects, each a small change to a valid sample, with the field it breaks.

Layers say who must catch the mistake:
- `schema`: the OpenAPI schema (pattern, enum, bounds): Pydantic, JSON Schema and the API server;
- `rule`: a CEL rule: its Python twin in the models, and the API server;
- `list-map`: a duplicate key in a list keyed by name: the models and the API server;
- `unknown-field`: a misspelt field: Pydantic (extra=forbid) and `kubectl apply`'s strict
  field validation;
- `status`: a bad status, written through the status subresource;
- `transition`: valid on its own, illegal as a change (immutability): only the API server.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tests.crds.support import Manifest, load_sample

Layer = Literal["schema", "rule", "list-map", "unknown-field", "status", "transition"]

MV = "modelversion-v1.yaml"
MDEP = "modeldeployment-canary.yaml"
DM = "driftmonitor.yaml"
ORG = "organization.yaml"


@dataclass(frozen=True)
class InvalidCase:
    """One invalid object: which sample, what change, which field the error must name."""

    id: str
    sample: str
    mutate: Callable[[Manifest], Any]
    path: str
    layer: Layer
    message: str | None = None
    """Text the API server's refusal must contain, where the path alone says little."""

    def build(self, name: str | None = None) -> Manifest:
        """The invalid object (for `transition`, the illegal new version of the sample)."""
        document = copy.deepcopy(load_sample(self.sample))
        if name is not None:
            document["metadata"]["name"] = name
        self.mutate(document)
        return document

    def original(self, name: str) -> Manifest:
        """The valid sample under another name (what a transition case changes)."""
        document = load_sample(self.sample)
        document["metadata"]["name"] = name
        return document


def _set(path: str, value: Any) -> Callable[[Manifest], None]:
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]

    def apply(document: Manifest) -> None:
        target: Any = document
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return apply


def _append(path: str, value: Any) -> Callable[[Manifest], None]:
    def apply(document: Manifest) -> None:
        target: Any = document
        for key in path.split("."):
            target = target[key]
        target.append(value)

    return apply


def _drop(path: str) -> Callable[[Manifest], None]:
    *parents, last = path.split(".")

    def apply(document: Manifest) -> None:
        target: Any = document
        for key in parents:
            target = target[key]
        del target[last]

    return apply


def _steps(*steps: dict[str, Any]) -> Callable[[Manifest], None]:
    return _set("spec.strategy.canary.steps", list(steps))


BAD_REASON_STATUS = {
    "observedGeneration": 1,
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "not a reason!",
            "message": "",
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ],
}

CASES: tuple[InvalidCase, ...] = (
    InvalidCase(
        "digest-not-hex",
        MV,
        _set("spec.artifact.sha256", "not-a-digest"),
        "spec.artifact.sha256",
        "schema",
    ),
    InvalidCase(
        "digest-uppercase",
        MV,
        _set("spec.artifact.sha256", "AB" * 32),
        "spec.artifact.sha256",
        "schema",
    ),
    InvalidCase(
        "artifact-format-pickle",
        MV,
        _set("spec.artifact.format", "pickle"),
        "spec.artifact.format",
        "schema",
    ),
    InvalidCase(
        "artifact-uri-ftp",
        MV,
        _set("spec.artifact.uri", "ftp://models/m.onnx"),
        "spec.artifact.uri",
        "schema",
    ),
    InvalidCase(
        "unknown-datatype",
        MV,
        _set("spec.signature.inputs.0.datatype", "FP128"),
        "spec.signature.inputs[0].datatype",
        "schema",
    ),
    InvalidCase(
        "shape-below-minus-one",
        MV,
        _set("spec.signature.inputs.0.shape", [-2, 4]),
        "spec.signature.inputs[0].shape[0]",
        "schema",
    ),
    InvalidCase(
        "duplicate-input-name",
        MV,
        _append("spec.signature.inputs", {"name": "input", "datatype": "FP32", "shape": [1]}),
        "spec.signature.inputs[1]",
        "list-map",
    ),
    InvalidCase(
        "feature-input-not-in-signature",
        MV,
        _set("spec.features.0.input", "missing"),
        "spec.features",
        "rule",
    ),
    InvalidCase(
        "artifact-changed-after-creation",
        MV,
        _set("spec.artifact.sha256", "0" * 64),
        "spec",
        "transition",
        "spec is immutable",
    ),
    InvalidCase(
        "weight-120",
        MDEP,
        _steps({"setWeight": 120}),
        "spec.strategy.canary.steps[0].setWeight",
        "schema",
    ),
    InvalidCase(
        "decreasing-weights",
        MDEP,
        _steps({"setWeight": 50}, {"setWeight": 10}),
        "spec.strategy.canary.steps",
        "rule",
    ),
    InvalidCase(
        "step-with-two-actions",
        MDEP,
        _steps({"setWeight": 10, "pause": {"duration": "1m"}}),
        "spec.strategy.canary.steps[0]",
        "rule",
    ),
    InvalidCase(
        "pause-duration-in-words",
        MDEP,
        _steps({"pause": {"duration": "5 minutes"}}),
        "spec.strategy.canary.steps[0].pause.duration",
        "schema",
    ),
    InvalidCase(
        "candidate-equals-stable",
        MDEP,
        _set("spec.candidate.modelVersionRef.name", "fraud-detector-v1"),
        "spec.candidate.modelVersionRef.name",
        "rule",
    ),
    InvalidCase(
        "analysis-step-without-analysis", MDEP, _drop("spec.analysis"), "spec.analysis", "rule"
    ),
    InvalidCase(
        "analysis-without-checks",
        MDEP,
        _set("spec.analysis.checks", {}),
        "spec.analysis.checks",
        "rule",
    ),
    InvalidCase(
        "replicas-with-min-max",
        MDEP,
        _set("spec.scaling.replicas", 3),
        "spec.scaling.replicas",
        "rule",
    ),
    InvalidCase(
        "min-replicas-above-max",
        MDEP,
        _set("spec.scaling.minReplicas", 9),
        "spec.scaling.minReplicas",
        "rule",
    ),
    InvalidCase(
        "shadow-agreement-without-shadow",
        MDEP,
        _drop("spec.strategy.shadow"),
        "spec.analysis.checks.shadowAgreement",
        "rule",
    ),
    InvalidCase(
        "shadow-agreement-above-one",
        MDEP,
        _set("spec.analysis.checks.shadowAgreement.min", 1.5),
        "spec.analysis.checks.shadowAgreement.min",
        "schema",
    ),
    InvalidCase(
        "shadow-percent-zero",
        MDEP,
        _set("spec.strategy.shadow.percent", 0),
        "spec.strategy.shadow.percent",
        "schema",
    ),
    InvalidCase(
        "environment-unknown", MDEP, _set("spec.environment", "qa"), "spec.environment", "schema"
    ),
    InvalidCase(
        "misspelt-field",
        MDEP,
        _set("spec.scaling.replicaz", 3),
        "spec.scaling.replicaz",
        "unknown-field",
    ),
    InvalidCase(
        "bad-condition-reason",
        MDEP,
        _set("status", BAD_REASON_STATUS),
        "status.conditions[0].reason",
        "status",
    ),
    InvalidCase(
        "reference-stable-and-uri",
        DM,
        _set("spec.reference.uri", "s3://mp-acme-data/ref.parquet"),
        "spec.reference.uri",
        "rule",
    ),
    InvalidCase(
        "alpha-on-distance-test",
        DM,
        _set("spec.features.overrides.0.alpha", 0.01),
        "spec.features.overrides[0].alpha",
        "rule",
    ),
    InvalidCase(
        "alert-with-two-sinks",
        DM,
        _set("spec.alerts.0.webhook", {"urlSecretRef": {"name": "s", "key": "url"}}),
        "spec.alerts[0]",
        "rule",
    ),
    InvalidCase(
        "quality-regression-metric-on-classification",
        DM,
        _append("spec.quality.metrics", {"metric": "rmse", "max": 1.0}),
        "spec.quality.metrics",
        "rule",
    ),
    InvalidCase(
        "quality-auc-without-score",
        DM,
        _drop("spec.quality.score"),
        "spec.quality.score",
        "rule",
    ),
    InvalidCase(
        "quality-min-above-max",
        DM,
        _set("spec.quality.metrics.0.max", 0.5),
        "spec.quality.metrics[0].max",
        "rule",
    ),
    InvalidCase(
        "quality-metric-twice",
        DM,
        _append("spec.quality.metrics", {"metric": "accuracy", "min": 0.8}),
        "spec.quality.metrics[4]",
        "list-map",
    ),
    InvalidCase(
        "correction-unknown", DM, _set("spec.correction", "holm"), "spec.correction", "schema"
    ),
    InvalidCase(
        "schedule-not-cron", DM, _set("spec.schedule", "every hour"), "spec.schedule", "schema"
    ),
    InvalidCase("slug-uppercase", ORG, _set("spec.slug", "Acme"), "spec.slug", "schema"),
    InvalidCase(
        "slug-changed-after-creation",
        ORG,
        _set("spec.slug", "acme-two"),
        "spec.slug",
        "transition",
        "slug is immutable",
    ),
)
