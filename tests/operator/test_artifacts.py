"""Artifact verification as plain functions: digest, ONNX safety rules, signature, size, sources."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from modelplane_crds.model_version import ModelVersionSpec
from modelplane_crds.serving import ServingLimits
from modelplane_operator.artifacts import (
    ArtifactFetcher,
    ArtifactProblem,
    S3Config,
    verify_artifact,
    verify_bytes,
)
from tests.onnx_models import (
    custom_op_model,
    external_data_model,
    linear_model,
    mixed_input_model,
    model_bytes,
    signature_of,
)

LIMITS = ServingLimits()


def make_spec(
    sha256: str, signature: dict[str, Any], uri: str = "s3://b/k.onnx", **artifact: Any
) -> ModelVersionSpec:
    return ModelVersionSpec.model_validate(
        {
            "modelName": "m",
            "version": "1",
            "artifact": {"uri": uri, "sha256": sha256, **artifact},
            "signature": signature,
        }
    )


def problem_of(
    data: bytes, spec: ModelVersionSpec, limits: ServingLimits = LIMITS
) -> ArtifactProblem:
    with pytest.raises(ArtifactProblem) as caught:
        verify_bytes(data, spec, limits)
    return caught.value


def test_good_model_is_verified_with_its_digest_and_size() -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    verified = verify_bytes(data, make_spec(digest, signature_of(model)), LIMITS)
    assert verified.sha256 == digest
    assert verified.size_bytes == len(data)


def test_model_with_several_inputs_and_outputs_is_verified() -> None:
    model = mixed_input_model()
    data, digest = model_bytes(model)
    assert verify_bytes(data, make_spec(digest, signature_of(model)), LIMITS).sha256 == digest


def test_wrong_digest_is_digest_mismatch_and_names_both_digests() -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    problem = problem_of(data, make_spec("a" * 64, signature_of(model)))
    assert problem.reason == "DigestMismatch"
    assert digest in problem.message
    assert "a" * 64 in problem.message
    assert not problem.transient


@pytest.mark.parametrize("junk", [b"not a model at all", b"\x00" * 64, b"PK\x03\x04pickle"])
def test_bytes_that_are_not_onnx_are_not_onnx(junk: bytes) -> None:
    digest = hashlib.sha256(junk).hexdigest()
    problem = problem_of(junk, make_spec(digest, signature_of(linear_model(4))))
    assert problem.reason == "NotOnnx"


def test_external_data_is_refused(tmp_path: Path) -> None:
    model = external_data_model(tmp_path)
    data, digest = model_bytes(model)
    problem = problem_of(data, make_spec(digest, signature_of(model)))
    assert problem.reason == "InvalidModel"
    assert "external data" in problem.message


def test_custom_operator_domain_is_refused() -> None:
    model = custom_op_model()
    data, digest = model_bytes(model)
    problem = problem_of(data, make_spec(digest, signature_of(model)))
    assert problem.reason == "InvalidModel"
    assert "com.example.custom" in problem.message


def test_graph_over_the_node_limit_is_refused() -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    problem = problem_of(data, make_spec(digest, signature_of(model)), ServingLimits(max_nodes=2))
    assert problem.reason == "InvalidModel"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s["inputs"][0].update(shape=[-1, 5]), "shape"),
        (lambda s: s["inputs"][0].update(datatype="FP64"), "FP64"),
        (lambda s: s["inputs"][0].update(name="features"), "'features' is not in the model"),
        (lambda s: s["outputs"][0].update(name="score"), "'score' is not in the model"),
        (lambda s: s["inputs"][0].update(shape=[-1]), "shape"),
    ],
)
def test_declared_signature_that_differs_from_the_graph_is_signature_mismatch(
    change: Any, words: str
) -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    signature = signature_of(model)
    change(signature)
    problem = problem_of(data, make_spec(digest, signature))
    assert problem.reason == "SignatureMismatch"
    assert words in problem.message


def test_concrete_declared_batch_size_matches_a_dynamic_graph_dimension() -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    signature = signature_of(model)
    signature["inputs"][0]["shape"] = [8, 4]
    assert verify_bytes(data, make_spec(digest, signature), LIMITS).sha256 == digest


def test_file_artifact_is_fetched_under_the_root_only(tmp_path: Path) -> None:
    model = linear_model(4)
    data, digest = model_bytes(model)
    (tmp_path / "m.onnx").write_bytes(data)
    fetcher = ArtifactFetcher(S3Config(), file_root=tmp_path)
    spec = make_spec(digest, signature_of(model), uri=f"file://{tmp_path}/m.onnx")
    assert verify_artifact(fetcher, spec, LIMITS).sha256 == digest
    outside = make_spec(digest, signature_of(model), uri=f"file://{tmp_path}/../m.onnx")
    with pytest.raises(ArtifactProblem, match="outside the file artifact root") as caught:
        verify_artifact(fetcher, outside, LIMITS)
    assert caught.value.reason == "ArtifactUnreachable"


def test_missing_file_is_unreachable_and_permanent(tmp_path: Path) -> None:
    fetcher = ArtifactFetcher(S3Config(), file_root=tmp_path)
    spec = make_spec("a" * 64, signature_of(linear_model(4)), uri=f"file://{tmp_path}/none.onnx")
    with pytest.raises(ArtifactProblem) as caught:
        verify_artifact(fetcher, spec, LIMITS)
    assert caught.value.reason == "ArtifactUnreachable"
    assert not caught.value.transient


def test_file_artifacts_are_refused_without_a_configured_root(tmp_path: Path) -> None:
    fetcher = ArtifactFetcher(S3Config())
    spec = make_spec("a" * 64, signature_of(linear_model(4)), uri=f"file://{tmp_path}/m.onnx")
    with pytest.raises(ArtifactProblem, match="disabled"):
        verify_artifact(fetcher, spec, LIMITS)


@pytest.mark.parametrize("limit_source", ["spec", "platform"])
def test_artifact_over_the_size_limit_is_too_large(tmp_path: Path, limit_source: str) -> None:
    model = linear_model(20)
    data, digest = model_bytes(model)
    (tmp_path / "m.onnx").write_bytes(data)
    fetcher = ArtifactFetcher(S3Config(), file_root=tmp_path)
    small = len(data) - 1
    spec = make_spec(
        digest,
        signature_of(model),
        uri=f"file://{tmp_path}/m.onnx",
        **({"maxSizeBytes": small} if limit_source == "spec" else {}),
    )
    limits = ServingLimits(max_artifact_bytes=small) if limit_source == "platform" else LIMITS
    with pytest.raises(ArtifactProblem) as caught:
        verify_artifact(fetcher, spec, limits)
    assert caught.value.reason == "ArtifactTooLarge"
    assert not caught.value.transient


def test_unreachable_s3_endpoint_is_transient() -> None:
    fetcher = ArtifactFetcher(
        S3Config(endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b")
    )
    spec = make_spec("a" * 64, signature_of(linear_model(4)), uri="s3://bucket/key.onnx")
    with pytest.raises(ArtifactProblem) as caught:
        verify_artifact(fetcher, spec, LIMITS)
    assert caught.value.reason == "ArtifactUnreachable"
    assert caught.value.transient


def test_mlflow_uri_without_a_tracking_server_is_unreachable() -> None:
    spec = make_spec("a" * 64, signature_of(linear_model(4)), uri="models:/fraud/3")
    with pytest.raises(ArtifactProblem, match="no MLflow tracking URI"):
        verify_artifact(ArtifactFetcher(S3Config()), spec, LIMITS)
