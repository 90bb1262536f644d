"""The GPU serving runtime image (`serving-runtime/Dockerfile.gpu`) as `make images` builds it here.

No CUDA base image is reachable on this machine, so the image is built on the local Debian base
and carries onnxruntime-gpu without CUDA libraries. What can be checked without a GPU: the GPU
build of onnxruntime replaced the CPU one, it lists `CUDAExecutionProvider`, and the runtime,
asked for CUDA first (the image's default providers), loads the model, says it fell back, and
serves correct predictions on the CPU — read-only, non-root, under runc. And the default CUDA
base's major is the one the CUDA provider library links against.

Close to 1 GB and over a minute to build, for checks no other test needs, so not in `make test`:
set `MODELPLANE_GPU_IMAGE=1` (`make test-images` does) to run it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from modelplane_cli.local.images import REPO_ROOT, ImageBuilder
from tests.images.conftest import _progress
from tests.images.support import (
    free_port,
    image_config,
    mounted,
    run_image,
    uid_of,
    wait_exit,
    wait_http,
)
from tests.onnx_models import linear_model, signature_of, write_model

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(
        os.environ.get("MODELPLANE_GPU_IMAGE") != "1",
        reason="the GPU image takes minutes to build: `make test-images` runs this test",
    ),
]

UID = 65532
PROBE = """
import importlib.metadata as md, json, onnxruntime as ort
installed = {d.metadata["Name"].lower() for d in md.distributions()}
print(json.dumps({
    "gpu": md.version("onnxruntime-gpu") if "onnxruntime-gpu" in installed else None,
    "cpu_package": "onnxruntime" in installed,
    "providers": ort.get_available_providers(),
}))
"""


@pytest.fixture(scope="module")
def gpu_image() -> str:
    return ImageBuilder(_progress).runtime_gpu().ref


def test_the_gpu_image_has_onnxruntime_gpu_with_the_cuda_provider_compiled_in(
    gpu_image: str, tmp_path: Path
) -> None:
    probe = ["python", "-c", PROBE]
    config = image_config(gpu_image)
    assert config["User"] == str(UID)
    with run_image(gpu_image, tmp_path, entrypoint=probe) as job:
        code = wait_exit(job)
    assert code == 0, job.logs()
    report = json.loads(job.logs().strip().splitlines()[-1])
    assert report["gpu"] == ort.__version__  # the same version as the CPU image's
    assert report["cpu_package"] is False
    assert "CUDAExecutionProvider" in report["providers"]
    assert "CPUExecutionProvider" in report["providers"]


def test_the_gpu_image_serves_on_the_cpu_when_cuda_is_unavailable(
    gpu_image: str, tmp_path: Path
) -> None:
    model = linear_model(4)
    models = tmp_path / "models"
    models.mkdir(mode=0o755)  # readable by the image's user, as a volume would be
    path, digest = write_model(model, models / "model.onnx")
    path.chmod(0o644)
    port = free_port()
    env = {
        "MODELPLANE_RUNTIME_MODEL_NAME": "demo",
        "MODELPLANE_RUNTIME_MODEL_VERSION": "1",
        "MODELPLANE_RUNTIME_MODEL_URI": "file:///models/model.onnx",
        "MODELPLANE_RUNTIME_MODEL_SHA256": digest,
        "MODELPLANE_RUNTIME_SIGNATURE": json.dumps(signature_of(model)),
        "MODELPLANE_RUNTIME_CACHE_DIR": "/tmp/cache",
        "MODELPLANE_RUNTIME_HOST": "127.0.0.1",
        "MODELPLANE_RUNTIME_PORT": str(port),
    }
    rows = np.random.default_rng(7).normal(size=(3, 4)).astype(np.float32)
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [3, 4],
                        "data": rows.ravel().tolist()}]}  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with run_image(gpu_image, tmp_path / "run", env=env, binds={"/models": models}) as server:
        wait_http(f"{base}/v2/health/ready", server)
        uid = uid_of(server.pid())
        answer = httpx.post(f"{base}/v2/models/demo/infer", json=body, timeout=30)
    assert uid == UID
    assert answer.status_code == 200, answer.text
    expected = ort.InferenceSession(path.read_bytes(), providers=["CPUExecutionProvider"]).run(
        None, {"x": rows}
    )[0]
    (output,) = answer.json()["outputs"]
    np.testing.assert_allclose(np.array(output["data"]).reshape(3, 1), expected, rtol=1e-5)
    loaded = [json.loads(line) for line in server.logs().splitlines() if '"model_loaded"' in line]
    assert loaded, server.logs()
    assert loaded[0]["providers"] == ["CPUExecutionProvider"]
    assert '"providers_missing"' in server.logs()


def test_the_default_cuda_base_has_the_cuda_major_onnxruntime_gpu_was_built_for(
    gpu_image: str,
) -> None:
    dockerfile = (REPO_ROOT / "serving-runtime/Dockerfile.gpu").read_text()
    default = re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:(\d+)\.", dockerfile, flags=re.MULTILINE)
    assert default is not None
    with mounted(gpu_image) as rootfs:
        (provider,) = rootfs.glob(
            "opt/venv/lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime_providers_cuda.so"
        )
        needed = subprocess.run(
            ["readelf", "-d", str(provider)], capture_output=True, text=True, check=True
        ).stdout
    assert f"[libcudart.so.{default.group(1)}]" in needed, needed
