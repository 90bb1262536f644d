"""examples/mlflow_tracking/train_and_deploy.py runs as written: scikit-learn → skl2onnx → the
standard mlflow client through the facade (the session's real MLflow behind it) → the better
run registered from its run → deployed. No operator runs here: the test marks the registered
ModelVersion Ready in the recording gateway, as the operator would after verifying it."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from .catalog import mark_ready
from .conftest import Api

pytestmark = pytest.mark.integration
EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "mlflow_tracking" / "train_and_deploy.py"
)


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("train_and_deploy", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def test_the_worked_example_trains_logs_registers_and_deploys(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await api.register("ds")
    org = await api.create_org(admin)
    namespace = f"mp-{org['slug']}"
    monkeypatch.setenv("MODELPLANE_TOKEN", admin["access_token"])
    example = _example()
    async with api.over_tcp() as base:
        argv = ["--facade", base, "--org", org["slug"], "--model", "fraud", "--wait", "120"]
        running = asyncio.create_task(asyncio.to_thread(example.main, argv))
        while not running.done():  # the operator's part: verify what gets registered
            for kind, ns, name in list(api.gateway.objects):
                stored = api.gateway.objects[(kind, ns, name)]
                if kind == "modelversions" and ns == namespace and "status" not in stored:
                    mark_ready(api.gateway, namespace, name)
            await asyncio.sleep(0.2)
        assert await running == 0

    base_url = f"/api/v1/organizations/{org['id']}"
    runs = await api.client.get(
        f"{base_url}/runs", headers=admin["headers"], params={"sort": "-metrics.auc"}
    )
    assert runs.status_code == 200, runs.text
    logged = runs.json()["data"]
    assert [r["params"]["C"] for r in logged] in (["0.01", "1.0"], ["1.0", "0.01"])
    assert all({"auc", "accuracy"} <= set(r["metrics"]) for r in logged)
    best = logged[0]
    models = await api.client.get(f"{base_url}/models", headers=admin["headers"])
    (model,) = models.json()["data"]
    versions = await api.client.get(
        f"{base_url}/models/{model['id']}/versions", headers=admin["headers"]
    )
    (version,) = versions.json()["data"]
    assert version["mlflow_run_id"] == best["id"]
    deployments = await api.client.get(f"{base_url}/deployments", headers=admin["headers"])
    (deployment,) = deployments.json()["data"]
    assert deployment["environment"] == "staging"
    assert version["resource_name"] in str(deployment)
