"""The operator ↔ serving-pod contract: the limits a version verified under are the pod's.

For each limit, a model exactly at its edge is verified by the operator and then loaded by the
runtime from the environment the operator builds for its pods; one step past the edge, both
refuse it for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import modelplane_onnx as onnx_policy
from modelplane_crds import serving
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_crds.serving import ServingLimits
from modelplane_operator.artifacts import (
    ArtifactFetcher,
    ArtifactProblem,
    S3Config,
    verify_artifact,
)
from modelplane_operator.builders.model_deployment import RuntimeConfig, Variant, build_deployment
from modelplane_operator.settings import Settings
from modelplane_runtime.app import load_model
from modelplane_runtime.errors import ArtifactError
from modelplane_runtime.settings import RuntimeSettings
from tests.onnx_models import linear_model, signature_of, write_model
from tests.operator.factories import OWNER, make_spec

MODEL = linear_model(4)
SIZE = len(MODEL.SerializeToString())
NODES = len(MODEL.graph.node)
DOMAINS = tuple(
    sorted({o.domain for o in MODEL.opset_import} | {n.domain for n in MODEL.graph.node})
)
RUNTIME_REASON = {"ArtifactTooLarge": "ArtifactTooLarge", "InvalidModel": "UnsafeModel"}
"""The operator's condition reason → the runtime's error for the same refusal."""


@dataclass(frozen=True)
class Edge:
    """Platform limits and a ModelVersion `maxSizeBytes` that put MODEL at one limit's edge."""

    limits: ServingLimits
    max_size_bytes: int | None = None
    reason: str = ""
    """The reason when the limit is one step tighter."""


EDGES = {
    "platform size": Edge(ServingLimits(max_artifact_bytes=SIZE), reason="ArtifactTooLarge"),
    "version size": Edge(ServingLimits(), max_size_bytes=SIZE, reason="ArtifactTooLarge"),
    "nodes": Edge(ServingLimits(max_nodes=NODES), reason="InvalidModel"),
    "domains": Edge(ServingLimits(allowed_domains=DOMAINS), reason="InvalidModel"),
}


def tighter(edge: Edge) -> Edge:
    """The same limit one step past MODEL."""
    if edge.max_size_bytes is not None:
        return Edge(edge.limits, edge.max_size_bytes - 1, edge.reason)
    if edge.limits.max_artifact_bytes == SIZE:
        return Edge(ServingLimits(max_artifact_bytes=SIZE - 1), reason=edge.reason)
    if edge.limits.max_nodes == NODES:
        return Edge(ServingLimits(max_nodes=NODES - 1), reason=edge.reason)
    return Edge(ServingLimits(allowed_domains=DOMAINS[1:]), reason=edge.reason)


def version_at(path: Path, digest: str, edge: Edge) -> ModelVersionSpec:
    artifact: dict[str, Any] = {"uri": path.as_uri(), "sha256": digest}
    if edge.max_size_bytes is not None:
        artifact["maxSizeBytes"] = edge.max_size_bytes
    return ModelVersionSpec.model_validate(
        {
            "modelName": "edge",
            "version": "1",
            "artifact": artifact,
            "signature": signature_of(MODEL),
        }
    )


def pod_settings(
    spec: ModelVersionSpec, limits: ServingLimits, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> RuntimeSettings:
    """The runtime's settings as a pod of this version reads them from its environment."""
    config = RuntimeConfig(image="ghcr.io/modelplane/serving-runtime:0.1.0", limits=limits)
    deployment = build_deployment(OWNER, Variant("v1", spec, "stable", 1), make_spec(), config)
    for env in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
        monkeypatch.setenv(env["name"], env["value"])
    return RuntimeSettings(cache_dir=cache)  # the pod's cache is an emptyDir; here a tmp dir


def model_file(tmp_path: Path) -> tuple[Path, str]:
    path, digest = write_model(MODEL, tmp_path / "model.onnx")
    assert path.stat().st_size == SIZE
    return path, digest


@pytest.mark.parametrize("edge", EDGES.values(), ids=EDGES.keys())
def test_a_model_at_the_edge_of_each_limit_verifies_and_loads(
    edge: Edge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, digest = model_file(tmp_path)
    spec = version_at(path, digest, edge)
    verified = verify_artifact(ArtifactFetcher(S3Config(), file_root=tmp_path), spec, edge.limits)
    assert verified.size_bytes == SIZE
    model = load_model(pod_settings(spec, edge.limits, tmp_path / "cache", monkeypatch))
    assert model is not None


@pytest.mark.parametrize("edge", EDGES.values(), ids=EDGES.keys())
def test_one_step_past_each_limit_both_the_operator_and_the_pod_refuse_it(
    edge: Edge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, digest = model_file(tmp_path)
    past = tighter(edge)
    spec = version_at(path, digest, past)
    with pytest.raises(ArtifactProblem) as verifying:
        verify_artifact(ArtifactFetcher(S3Config(), file_root=tmp_path), spec, past.limits)
    assert verifying.value.reason == past.reason
    with pytest.raises(ArtifactError) as loading:
        load_model(pod_settings(spec, past.limits, tmp_path / "cache", monkeypatch))
    assert type(loading.value).__name__ == RUNTIME_REASON[past.reason]


def test_pods_get_the_size_limit_the_operator_verified_under_not_the_versions_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, digest = model_file(tmp_path)
    spec = version_at(path, digest, Edge(ServingLimits()))
    assert spec.artifact.max_size_bytes > serving.DEFAULT_MAX_ARTIFACT_BYTES  # 2 GiB by default
    limits = Settings().limits()
    settings = pod_settings(spec, limits, tmp_path / "cache", monkeypatch)
    assert settings.max_artifact_bytes == limits.max_artifact_bytes
    assert settings.max_artifact_bytes == limits.for_artifact(spec.artifact).max_artifact_bytes


def test_the_operators_limits_go_by_the_pods_names_and_the_old_names_still_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert set(serving.LIMIT_FIELDS) <= set(Settings.model_fields)
    assert set(serving.LIMIT_FIELDS) <= set(RuntimeSettings.model_fields)
    monkeypatch.setenv("MODELPLANE_OPERATOR_MAX_GRAPH_NODES", "12")
    monkeypatch.setenv("MODELPLANE_OPERATOR_ALLOWED_OPSET_DOMAINS", '[""]')
    assert Settings().limits() == ServingLimits(max_nodes=12, allowed_domains=("",))
    monkeypatch.setenv("MODELPLANE_OPERATOR_MAX_NODES", "13")
    assert Settings().limits().max_nodes == 13


def test_the_default_limits_are_the_onnx_policys() -> None:
    assert serving.DEFAULT_MAX_NODES == onnx_policy.DEFAULT_MAX_NODES
    assert frozenset(serving.DEFAULT_ALLOWED_DOMAINS) == onnx_policy.DEFAULT_ALLOWED_DOMAINS
