"""Artifact verification as plain functions: digest, ONNX safety rules, signature, size, sources.

Every verification streams the artifact into a temporary file (`verify_artifact`); the bytes a
test builds are served from a `file://` root so that the whole path runs."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from modelplane_cli.local.platform import S3Endpoint
from modelplane_cli.local.services import MLflow
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_crds.serving import ServingLimits
from modelplane_operator.artifacts import (
    ArtifactFetcher,
    ArtifactProblem,
    S3Config,
    VerifiedArtifact,
    verify_artifact,
)
from tests.mlflow_registry import register_onnx
from tests.onnx_models import (
    custom_op_model,
    external_data_model,
    linear_model,
    mixed_input_model,
    mlp_model,
    model_bytes,
    signature_of,
    write_model,
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


def verify_bytes(
    data: bytes, spec: ModelVersionSpec, limits: ServingLimits = LIMITS
) -> VerifiedArtifact:
    """`verify_artifact` of `data` served from a `file://` root, whatever `spec`'s URI says."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.onnx"
        path.write_bytes(data)
        artifact = spec.artifact.model_copy(update={"uri": f"file://{path}"})
        fetcher = ArtifactFetcher(S3Config(), file_root=Path(folder))
        return verify_artifact(fetcher, spec.model_copy(update={"artifact": artifact}), limits)


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


@pytest.mark.integration
def test_mlflow_artifacts_are_fetched_with_the_operators_token(mlflow_server: MLflow) -> None:
    """The local platform's MLflow answers the operator only with its token; without it the
    version is refused as unreachable (401 is not retried: the configuration is wrong)."""
    model = linear_model(4, seed=21)
    data, digest = model_bytes(model)
    name, version = register_onnx(mlflow_server, data)
    spec = make_spec(digest, signature_of(model), uri=f"models:/{name}/{version}")
    fetcher = ArtifactFetcher(
        S3Config(), mlflow_uri=mlflow_server.url, mlflow_token=mlflow_server.token
    )
    verified = verify_artifact(fetcher, spec, LIMITS)
    assert (verified.sha256, verified.size_bytes) == (digest, len(data))
    for token in (None, mlflow_server.reader_token + "x"):
        anonymous = ArtifactFetcher(S3Config(), mlflow_uri=mlflow_server.url, mlflow_token=token)
        with pytest.raises(ArtifactProblem, match="HTTP 401") as caught:
            verify_artifact(anonymous, spec, LIMITS)
        assert caught.value.reason == "ArtifactUnreachable"
        assert not caught.value.transient
        assert mlflow_server.token not in str(caught.value)


@pytest.fixture
def staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary directory, as the verification sees it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _source(
    source: str, data: bytes, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[ArtifactFetcher, str]:
    """A fetcher and the URI of `data` in a `file://` root or in MinIO (through get_object)."""
    if source == "s3":
        s3: S3Endpoint = request.getfixturevalue("s3")
        key = f"artifacts/{hashlib.sha256(data).hexdigest()}.onnx"
        s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)
        config = S3Config(s3.endpoint_url, s3.access_key, s3.secret_key, s3.region)
        return ArtifactFetcher(config), f"s3://{s3.bucket}/{key}"
    (tmp_path / "m.onnx").write_bytes(data)
    return ArtifactFetcher(S3Config(), file_root=tmp_path), f"file://{tmp_path}/m.onnx"


@pytest.mark.parametrize("source", ["file", pytest.param("s3", marks=pytest.mark.integration)])
@pytest.mark.parametrize("outcome", ["Verified", "DigestMismatch", "ArtifactTooLarge"])
def test_a_streamed_artifact_gets_its_verdict_and_leaves_no_file_behind(
    source: str, outcome: str, staging: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    model = linear_model(20)
    data, digest = model_bytes(model)
    fetcher, uri = _source(source, data, tmp_path, request)
    declared = "a" * 64 if outcome == "DigestMismatch" else digest
    spec = make_spec(declared, signature_of(model), uri=uri)
    size = len(data) - 1 if outcome == "ArtifactTooLarge" else len(data)
    try:
        verified = verify_artifact(fetcher, spec, ServingLimits(max_artifact_bytes=size))
        found = "Verified" if (verified.sha256, verified.size_bytes) == (digest, size) else "?"
    except ArtifactProblem as problem:
        found = problem.reason
    assert found == outcome
    assert list(staging.iterdir()) == []


def test_a_stream_longer_than_its_size_said_stops_at_the_limit(
    staging: Path, tmp_path: Path
) -> None:
    """A source whose size is unknown up front (a pipe here: its size is 0) is cut off once
    it passes the limit, with nothing left in the temporary directory."""
    pipe = tmp_path / "endless.onnx"
    os.mkfifo(pipe)
    limit = 4 * 1024 * 1024

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), pipe.open("wb") as writer:
            for _ in range(8):
                writer.write(b"\0" * 1024 * 1024)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    spec = make_spec("a" * 64, signature_of(linear_model(4)), uri=f"file://{pipe}")
    fetcher = ArtifactFetcher(S3Config(), file_root=tmp_path)
    with pytest.raises(ArtifactProblem, match="more than the limit") as caught:
        verify_artifact(fetcher, spec, ServingLimits(max_artifact_bytes=limit))
    feeder.join(timeout=10)
    assert caught.value.reason == "ArtifactTooLarge"
    assert list(staging.iterdir()) == []


VERIFY = """
import sys
from pathlib import Path

import onnx, onnxruntime  # imported before the baseline: their code is not the check's memory
from modelplane_cli.local.platform import S3Endpoint
from modelplane_cli.local.services import MLflow
from modelplane_crds.model_version import ModelVersionSpec
from modelplane_crds.serving import ServingLimits
from modelplane_operator.artifacts import ArtifactFetcher, S3Config, verify_artifact

def kib(key):
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith(key + ":"))

path, spec = Path(sys.argv[1]), ModelVersionSpec.model_validate_json(sys.argv[2])
fetcher = ArtifactFetcher(S3Config(), file_root=path.parent)
limits = ServingLimits(max_artifact_bytes=2 * path.stat().st_size)
Path("/proc/self/clear_refs").write_text("5")
before = kib("VmRSS")
verify_artifact(fetcher, spec, limits)
print(kib("VmHWM") - before)
"""


def test_verifying_holds_no_copy_of_the_artifact_beside_onnxruntime(tmp_path: Path) -> None:
    """Measured like the facade's upload check (tests/api/test_registry_memory.py): a fresh
    process's peak resident memory (`VmHWM` after `clear_refs`) against its memory before. The
    bytes in memory plus their parse were 2× the file before onnxruntime opened them (and those
    bytes stayed alive under onnxruntime's own copy); streamed to a file, what is left is
    onnxruntime's own, 1× for a model of many weights."""
    model = mlp_model(512, (512,) * 89, n_classes=512)  # 90 weights of 1 MiB
    path, digest = write_model(model, tmp_path / "big.onnx")
    spec = make_spec(digest, signature_of(model), uri=f"file://{path}")
    del model
    run = subprocess.run(
        [sys.executable, "-c", VERIFY, str(path), spec.model_dump_json(by_alias=True)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    growth_kib, size_kib = int(run.stdout.split()[-1]), path.stat().st_size / 1024
    assert growth_kib <= 1.5 * size_kib, (
        f"peak RSS grew {growth_kib / 1024:.0f} MiB verifying a {size_kib / 1024:.0f} MiB file "
        f"({growth_kib / size_kib:.2f}×)"
    )
