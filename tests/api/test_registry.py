"""The model registry on real PostgreSQL and MinIO, with the cluster gateway faked at our own
boundary: models, uploads (policy, digest, size caps, version numbers), state read back from
the ModelVersion, the outbox when the cluster is down, the reconciliation, deletes."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select, text

from modelplane_api.cluster import MODEL_VERSION, ClusterCaller
from modelplane_api.errors import ClusterUnavailable
from modelplane_api.mlflow_mirror import HttpRegistryMirror, MlflowRefused, RunModel
from modelplane_api.outbox.worker import drain_once
from modelplane_api.registry.models import RegisteredVersion
from modelplane_api.registry.reconcile import mirror_pending, reconcile_once
from modelplane_cli.local.services import MLflow
from modelplane_crds.model_version import DEFAULT_MAX_SIZE_BYTES
from tests.mlflow_registry import log_model_run
from tests.onnx_models import custom_op_model, linear_model, model_bytes, signature_of

from .conftest import ARTIFACT_BUCKET, Api, small_model, version_form


async def _org_with_model(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    admin = await api.register("ds")
    org = await api.create_org(admin)
    model = await api.create_model(admin, org["id"])
    return admin, org, model


def _versions_url(org: dict[str, Any], model: dict[str, Any]) -> str:
    return f"/api/v1/organizations/{org['id']}/models/{model['id']}/versions"


def _s3_object(s3: Any, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    assert bucket == ARTIFACT_BUCKET
    body: bytes = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


async def test_models_are_created_listed_filtered_updated_and_deleted(api: Api) -> None:
    admin = await api.register("ds")
    org = await api.create_org(admin)
    project = await api.create_project(admin, org["id"])
    base = f"/api/v1/organizations/{org['id']}/models"
    first = await api.client.post(
        base,
        headers=admin["headers"],
        json={"name": "churn", "project_id": project["id"], "tags": {"team": "growth"}},
    )
    assert first.status_code == 201, first.text
    assert first.json()["data"]["latest_version"] is None
    await api.create_model(admin, org["id"], "fraud")
    by_project = await api.client.get(
        base, headers=admin["headers"], params={"filter[project_id]": project["id"]}
    )
    assert [m["name"] for m in by_project.json()["data"]] == ["churn"]
    by_name = await api.client.get(base, headers=admin["headers"], params={"sort": "name"})
    assert [m["name"] for m in by_name.json()["data"]] == ["churn", "fraud"]
    unknown = await api.client.get(base, headers=admin["headers"], params={"filter[owner]": "x"})
    assert unknown.status_code == 400
    model_id = first.json()["data"]["id"]
    patched = await api.client.patch(
        f"{base}/{model_id}", headers=admin["headers"], json={"description": "who leaves"}
    )
    assert patched.json()["data"]["description"] == "who leaves"
    assert patched.json()["data"]["tags"] == {"team": "growth"}
    renamed = await api.client.patch(
        f"{base}/{model_id}", headers=admin["headers"], json={"name": "other"}
    )
    assert renamed.status_code == 422  # the name names ModelVersions: permanent
    deleted = await api.client.delete(f"{base}/{model_id}", headers=admin["headers"])
    assert deleted.status_code == 204
    assert (await api.client.get(f"{base}/{model_id}", headers=admin["headers"])).status_code == 404
    again = await api.client.post(base, headers=admin["headers"], json={"name": "churn"})
    assert again.status_code == 409  # never reused: churn-v1 must keep meaning the same bytes


async def test_an_upload_is_stored_digested_and_applied_as_a_model_version(
    api: Api, s3: Any
) -> None:
    admin, org, model = await _org_with_model(api)
    artifact = small_model()
    response = await api.upload_version(admin, org["id"], model["id"], artifact)
    assert response.status_code == 201, response.text
    version = response.json()["data"]
    assert version["version"] == 1
    assert version["resource_name"] == f"{model['name']}-v1"
    assert version["namespace"] == f"mp-{org['slug']}"
    assert version["sha256"] == hashlib.sha256(artifact).hexdigest()
    assert version["size_bytes"] == len(artifact)
    assert version["state"] == "verifying"
    assert version["artifact_uri"].startswith(f"s3://{ARTIFACT_BUCKET}/mp-{org['slug']}/models/")
    assert _s3_object(s3, version["artifact_uri"]) == artifact
    # The signature was read from the graph.
    assert version["signature"] == {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]}],
    }
    (body,) = [b for k, b in api.gateway.applied if k == MODEL_VERSION]
    assert body["metadata"]["name"] == version["resource_name"]
    assert body["metadata"]["namespace"] == version["namespace"]
    assert body["metadata"]["labels"]["modelplane.io/model"] == model["name"]
    assert body["spec"]["modelName"] == model["name"]
    assert body["spec"]["version"] == "1"
    assert body["spec"]["artifact"] == {
        "uri": version["artifact_uri"],
        "sha256": version["sha256"],
        "format": "onnx",
        "maxSizeBytes": DEFAULT_MAX_SIZE_BYTES,
    }
    listed = await api.client.get(
        f"/api/v1/organizations/{org['id']}/models/{model['id']}", headers=admin["headers"]
    )
    assert listed.json()["data"]["latest_version"] == 1


async def test_a_declared_signature_and_features_are_kept(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    onnx_model = linear_model(4)
    signature = signature_of(onnx_model)
    features = [{"name": f"f{i}", "type": "numerical", "input": "x", "index": i} for i in range(4)]
    response = await api.upload_version(
        admin,
        org["id"],
        model["id"],
        model_bytes(onnx_model)[0],
        {"signature": signature, "features": features, "description": "first"},
    )
    assert response.status_code == 201, response.text
    version = response.json()["data"]
    assert version["signature"]["inputs"] == signature["inputs"]
    assert [f["name"] for f in version["features"]] == ["f0", "f1", "f2", "f3"]
    assert version["description"] == "first"


async def test_refused_models_answer_400_with_the_reason_and_store_nothing(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    cases = {
        "NotOnnx": b"\x80\x04 a pickle is not a model",
        "InvalidModel": model_bytes(custom_op_model())[0],
    }
    for reason, artifact in cases.items():
        response = await api.upload_version(admin, org["id"], model["id"], artifact)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_model"
        assert error["details"]["reason"] == reason
    bad_metadata = await api.client.post(
        _versions_url(org, model),
        headers=admin["headers"],
        files={**version_form(), "metadata": (None, "{not json", "application/json")},
    )
    assert bad_metadata.status_code == 400
    assert bad_metadata.json()["error"]["details"][0]["loc"][:2] == ["body", "metadata"]
    mismatch = await api.upload_version(
        admin,
        org["id"],
        model["id"],
        metadata={"features": [{"name": "a", "type": "numerical", "input": "nope"}]},
    )
    assert mismatch.status_code == 400
    assert "every feature's input must name one of signature.inputs" in mismatch.text
    assert [b for k, b in api.gateway.applied if k == MODEL_VERSION] == []
    async with api.app.state.ctx.sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(RegisteredVersion)
            .where(RegisteredVersion.model_id == uuid.UUID(model["id"]))
        )
    assert rows == 0


async def test_bodies_over_the_upload_limit_get_413_declared_or_chunked(make_api: Any) -> None:
    api: Api = await make_api(max_upload_bytes=4096)
    admin, org, model = await _org_with_model(api)
    big = b"\0" * (4096 + 1024 * 1024 + 1)
    declared = await api.upload_version(admin, org["id"], model["id"], big)
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        boundary = b"--b\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="m.onnx"\r\n\r\n'
        for _ in range(3):
            yield b"\0" * (512 * 1024)

    chunked = await api.client.post(
        _versions_url(org, model),
        headers={**admin["headers"], "Content-Type": "multipart/form-data; boundary=b"},
        content=chunks(),
    )
    assert chunked.status_code == 413
    assert chunked.json()["error"]["code"] == "payload_too_large"
    # Under the body limit but over the file limit: the part's size decides.
    part = await api.upload_version(admin, org["id"], model["id"], b"\0" * 8192)
    assert part.status_code == 413
    assert part.json()["error"]["details"] == {"limit": 4096, "size": 8192}


async def test_concurrent_uploads_get_distinct_consecutive_numbers(make_api: Any) -> None:
    api: Api = await make_api(max_concurrent_uploads=4)
    admin, org, model = await _org_with_model(api)
    responses = await asyncio.gather(
        *(api.upload_version(admin, org["id"], model["id"]) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [201] * 4
    assert sorted(r.json()["data"]["version"] for r in responses) == [1, 2, 3, 4]


async def test_state_conditions_and_events_are_read_from_the_cluster(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    key = (MODEL_VERSION.plural, version["namespace"], version["resource_name"])
    api.gateway.objects[key]["metadata"]["generation"] = 1
    api.gateway.objects[key]["status"] = {
        "observedGeneration": 1,
        "conditions": [
            {"type": "Ready", "status": "False", "reason": "DigestMismatch", "message": "m1"},
            {"type": "Stalled", "status": "True", "reason": "DigestMismatch", "message": "m1"},
        ],
    }
    api.gateway.object_events[(version["namespace"], "ModelVersion", version["resource_name"])] = [
        {"type": "Warning", "reason": "DigestMismatch", "message": "m1", "count": 2}
    ]
    url = f"{_versions_url(org, model)}/{version['id']}"
    detail = (await api.client.get(url, headers=admin["headers"])).json()["data"]
    assert (detail["state"], detail["reason"], detail["message"]) == (
        "stalled",
        "DigestMismatch",
        "m1",
    )
    assert [c["type"] for c in detail["conditions"]] == ["Ready", "Stalled"]
    assert detail["events"] == [
        {
            "type": "Warning",
            "reason": "DigestMismatch",
            "message": "m1",
            "count": 2,
            "last_timestamp": None,
        }
    ]
    listed = await api.client.get(_versions_url(org, model), headers=admin["headers"])
    assert listed.json()["data"][0]["state"] == "stalled"
    api.gateway.objects.pop(key)
    gone = (await api.client.get(url, headers=admin["headers"])).json()["data"]
    assert gone["state"] == "missing"
    api.gateway.fail_with = ClusterUnavailable("down")
    unknown = (await api.client.get(url, headers=admin["headers"])).json()["data"]
    assert unknown["state"] == "unknown"


async def test_a_cluster_outage_answers_202_pending_and_loses_nothing(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    api.gateway.fail_with = ClusterUnavailable("Kubernetes API unreachable")
    response = await api.upload_version(admin, org["id"], model["id"])
    assert response.status_code == 202, response.text
    version = response.json()["data"]
    assert version["state"] == "pending"
    url = f"{_versions_url(org, model)}/{version['id']}"
    assert (await api.client.get(url, headers=admin["headers"])).json()["data"]["state"] == (
        "pending"
    )
    assert await drain_once(api.app.state.ctx) == 0  # still down: kept, retried later
    api.gateway.fail_with = None
    api.clock.now = None
    ctx = api.app.state.ctx
    async with ctx.sessions() as session:  # make the retry due now
        from modelplane_api.outbox.models import OutboxEntry

        for entry in await session.scalars(select(OutboxEntry)):
            entry.next_attempt_at = ctx.clock()
        await session.commit()
    assert await drain_once(ctx) >= 1
    after = (await api.client.get(url, headers=admin["headers"])).json()["data"]
    assert after["state"] == "verifying"
    applied = [b for k, b in api.gateway.applied if k == MODEL_VERSION]
    assert applied[-1]["metadata"]["name"] == version["resource_name"]
    assert applied[-1]["spec"]["artifact"]["sha256"] == version["sha256"]


async def test_the_reconciliation_reapplies_a_deleted_model_version(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    key = (MODEL_VERSION.plural, version["namespace"], version["resource_name"])
    api.gateway.objects.pop(key)
    ctx = api.app.state.ctx
    assert await reconcile_once(ctx) >= 1
    assert api.gateway.objects[key]["spec"]["artifact"]["sha256"] == version["sha256"]
    metric = ctx.metrics.reconcile_reapplied.labels("ModelVersion", "missing")._value.get()
    assert metric >= 1
    assert await reconcile_once(ctx) == 0 or key in api.gateway.objects


async def test_a_deployed_model_cannot_be_deleted(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    key = (MODEL_VERSION.plural, version["namespace"], version["resource_name"])
    api.gateway.objects[key]["status"] = {"usedBy": ["fraud-detector"]}
    url = f"/api/v1/organizations/{org['id']}/models/{model['id']}"
    refused = await api.client.delete(url, headers=admin["headers"])
    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == {
        "deployed": [f"{version['resource_name']} → fraud-detector"]
    }
    api.gateway.objects[key]["status"] = {"usedBy": []}
    assert (await api.client.delete(url, headers=admin["headers"])).status_code == 204
    assert (MODEL_VERSION, version["resource_name"], version["namespace"]) in api.gateway.deleted


def _parquet(columns: dict[str, list[float]]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


async def test_a_reference_dataset_is_checked_and_recorded(api: Api, s3: Any) -> None:
    admin, org, model = await _org_with_model(api)
    features = [{"name": f"f{i}", "type": "numerical", "input": "x", "index": i} for i in range(4)]
    good = _parquet({f"f{i}": [0.1, 0.2] for i in range(4)})

    async def upload(reference: bytes, sha256: str | None = None) -> Any:
        files = {
            **version_form(metadata={"features": features}),
            "reference": ("ref.parquet", reference, "application/vnd.apache.parquet"),
        }
        if sha256 is not None:
            files["reference_sha256"] = (None, sha256)
        return await api.client.post(
            _versions_url(org, model), headers=admin["headers"], files=files
        )

    not_parquet = await upload(b"a,b\n1,2\n")
    assert not_parquet.status_code == 400
    assert not_parquet.json()["error"]["details"]["reason"] == "NotParquet"
    missing = await upload(_parquet({"f0": [1.0]}))
    assert missing.status_code == 400
    assert missing.json()["error"]["details"]["reason"] == "ReferenceMismatch"
    wrong_digest = await upload(good, "0" * 64)
    assert wrong_digest.status_code == 400
    assert wrong_digest.json()["error"]["details"]["reason"] == "DigestMismatch"
    created = await upload(good, hashlib.sha256(good).hexdigest())
    assert created.status_code == 201, created.text
    reference = created.json()["data"]["reference_dataset"]
    assert reference["sha256"] == hashlib.sha256(good).hexdigest()
    assert _s3_object(s3, reference["uri"]) == good


def _mlflow_get(mlflow: MLflow, workspace: str | None, path: str, **params: str) -> Any:
    headers = {"X-MLFLOW-WORKSPACE": workspace} if workspace else {}
    return httpx.get(
        f"{mlflow.url}{path}", params=params, headers={**headers, **mlflow.headers()}, timeout=10
    )


async def test_versions_are_mirrored_into_the_organizations_own_mlflow_workspace(
    make_api: Any, mlflow_server: MLflow
) -> None:
    api: Api = await make_api(mlflow_tracking_uri=mlflow_server.url)
    admin, org, model = await _org_with_model(api)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    assert version["mlflow_version"] == "1"
    workspace = f"mp-{org['slug']}"
    found = _mlflow_get(
        mlflow_server,
        workspace,
        "/api/2.0/mlflow/model-versions/get",
        name=model["name"],
        version="1",
    )
    assert found.status_code == 200, found.text
    mirrored = found.json()["model_version"]
    tags = {t["key"]: t["value"] for t in mirrored["tags"]}
    assert tags["modelplane.io/sha256"] == version["sha256"]
    assert tags["modelplane.io/model-version"] == version["resource_name"]
    assert mirrored["source"] == version["artifact_uri"]
    # Another organization's workspace, and the default one, do not see it; names may repeat.
    other_admin = await api.register("other")
    other = await api.create_org(other_admin)
    await api.create_model(other_admin, other["id"], model["name"])
    for elsewhere in (f"mp-{other['slug']}", None):
        hidden = _mlflow_get(
            mlflow_server,
            elsewhere,
            "/api/2.0/mlflow/model-versions/get",
            name=model["name"],
            version="1",
        )
        assert hidden.status_code == 404, (elsewhere, hidden.text)


async def test_an_mlflow_outage_delays_the_mirror_and_loses_nothing(
    make_api: Any, mlflow_server: MLflow
) -> None:
    api: Api = await make_api(mlflow_tracking_uri="http://127.0.0.1:1")
    admin, org, model = await _org_with_model(api)
    response = await api.upload_version(admin, org["id"], model["id"])
    assert response.status_code == 201, response.text
    assert response.json()["data"]["mlflow_version"] is None
    assert "MLflow unreachable" in response.json()["data"]["mlflow_error"]
    ctx = api.app.state.ctx
    # MLflow is back
    ctx.mirror = HttpRegistryMirror(mlflow_server.url, token=mlflow_server.token)
    api.clock.now = datetime.now(UTC) + timedelta(hours=1)  # and the retry is due
    try:
        assert await mirror_pending(ctx) >= 1
    finally:
        await ctx.mirror.aclose()
        api.clock.now = None  # back to now: the access token is still valid
    url = f"{_versions_url(org, model)}/{response.json()['data']['id']}"
    detail = (await api.client.get(url, headers=admin["headers"])).json()["data"]
    assert detail["mlflow_version"] == "1"
    assert detail["mlflow_error"] is None
    found = _mlflow_get(
        mlflow_server,
        f"mp-{org['slug']}",
        "/api/2.0/mlflow/model-versions/get",
        name=model["name"],
        version="1",
    )
    assert found.status_code == 200, found.text


async def test_a_version_is_registered_from_an_mlflow_runs_onnx_model(api: Api, s3: Any) -> None:
    admin, org, model = await _org_with_model(api)
    artifact = model_bytes(linear_model(4, seed=5))[0]
    workspace = f"mp-{org['slug']}"
    run_id = log_model_run(api.mlflow, workspace, artifact)
    async with httpx.AsyncClient(timeout=30) as http:
        logged = await http.post(
            f"{api.mlflow.url}/api/2.0/mlflow/runs/log-batch",
            headers={"X-MLFLOW-WORKSPACE": workspace, **api.mlflow.headers()},
            json={
                "run_id": run_id,
                "metrics": [
                    {"key": "auc", "value": 0.8, "timestamp": 1, "step": 0},
                    {"key": "auc", "value": 0.91, "timestamp": 2, "step": 1},
                    {"key": "loss", "value": 0.2, "timestamp": 1, "step": 0},
                ],
            },
        )
    assert logged.status_code == 200, logged.text
    url = f"{_versions_url(org, model)}/from-run"
    response = await api.client.post(url, headers=admin["headers"], json={"run_id": run_id})
    assert response.status_code == 201, response.text
    version = response.json()["data"]
    assert (version["source"], version["mlflow_run_id"]) == ("mlflow_run", run_id)
    provenance = version["provenance"]
    assert provenance["metrics"] == {"auc": 0.91, "loss": 0.2}  # each metric's latest value
    assert provenance["mlflowExperimentId"].isdigit()
    assert version["sha256"] == hashlib.sha256(artifact).hexdigest()
    assert _s3_object(s3, version["artifact_uri"]) == artifact  # copied: the registry owns it
    (body,) = [b for k, b in api.gateway.applied if k == MODEL_VERSION]
    assert body["spec"]["provenance"]["mlflowRunId"] == run_id
    assert body["spec"]["provenance"]["metrics"] == provenance["metrics"]
    missing = await api.client.post(
        url, headers=admin["headers"], json={"run_id": run_id, "path": "elsewhere"}
    )
    assert missing.status_code == 404


async def test_a_pickled_flavour_is_refused_with_how_to_convert_it(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    run_id = log_model_run(
        api.mlflow, f"mp-{org['slug']}", b"\x80\x04\x95 cloudpickle bytes", flavor="sklearn"
    )
    response = await api.client.post(
        f"{_versions_url(org, model)}/from-run", headers=admin["headers"], json={"run_id": run_id}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"] == {"reason": "NotOnnx", "flavors": ["python_function", "sklearn"]}
    assert "skl2onnx.to_onnx" in error["message"]
    assert "never unpickles" in error["message"]


async def test_another_organizations_run_is_not_found(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    other_admin = await api.register("other")
    other = await api.create_org(other_admin)
    foreign = log_model_run(api.mlflow, f"mp-{other['slug']}", small_model())
    response = await api.client.post(
        f"{_versions_url(org, model)}/from-run", headers=admin["headers"], json={"run_id": foreign}
    )
    assert response.status_code == 404


async def test_a_gitops_managed_organization_is_read_only_through_the_facade(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    organization = api.gateway.objects[("organizations", None, org["slug"])]
    organization["spec"]["gitopsManaged"] = True
    organization["metadata"]["labels"]["argocd.argoproj.io/instance"] = "ml-platform"
    base = f"/api/v1/organizations/{org['id']}/models"
    writes = [
        await api.client.post(base, headers=admin["headers"], json={"name": "another"}),
        await api.client.patch(
            f"{base}/{model['id']}", headers=admin["headers"], json={"description": "x"}
        ),
        await api.upload_version(admin, org["id"], model["id"]),
        await api.client.post(
            f"{_versions_url(org, model)}/from-run", headers=admin["headers"], json={"run_id": "r"}
        ),
        await api.client.delete(f"{base}/{model['id']}", headers=admin["headers"]),
    ]
    for response in writes:
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "gitops_managed"
        assert error["details"] == {"owner": "Argo CD application 'ml-platform'"}
    reads = await api.client.get(
        f"{_versions_url(org, model)}/{version['id']}", headers=admin["headers"]
    )
    assert reads.status_code == 200


# Never stuck, nothing orphaned: the version is committed before anything outside the database
# hears of it, and whatever a refused upload wrote is removed again.


def _stored_keys(s3: Any, org: dict[str, Any], model: dict[str, Any]) -> list[str]:
    listed = s3.client().list_objects_v2(
        Bucket=ARTIFACT_BUCKET, Prefix=f"mp-{org['slug']}/models/{model['id']}/"
    )
    return [item["Key"] for item in listed.get("Contents", [])]


async def test_a_model_version_name_taken_in_the_cluster_is_skipped(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    namespace = f"mp-{org['slug']}"
    squatter = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": f"{model['name']}-v1", "namespace": namespace},
        "spec": {"modelName": model["name"], "version": "1"},
    }
    api.gateway.objects[(MODEL_VERSION.plural, namespace, f"{model['name']}-v1")] = squatter
    first = await api.upload_version(admin, org["id"], model["id"])
    assert first.status_code == 201, first.text
    assert (first.json()["data"]["version"], first.json()["data"]["resource_name"]) == (
        2,
        f"{model['name']}-v2",
    )
    assert api.gateway.objects[(MODEL_VERSION.plural, namespace, f"{model['name']}-v1")] == (
        squatter
    )
    second = await api.upload_version(admin, org["id"], model["id"])
    assert second.status_code == 201, second.text
    assert second.json()["data"]["version"] == 3


async def test_a_failure_at_commit_leaves_nothing_in_the_cluster_mlflow_or_s3(
    api: Api, s3: Any
) -> None:
    """COMMIT itself fails (a deferred constraint trigger): nothing was applied or mirrored,
    the stored bytes are removed, and the model takes the next upload under the same number."""
    admin, org, model = await _org_with_model(api)
    engine = api.app.state.ctx.engine
    trigger = f"test_refuse_{uuid.uuid4().hex[:8]}"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN IF NEW.model_id = '{model['id']}' THEN "
                "RAISE EXCEPTION 'refused at commit'; END IF; RETURN NEW; END $$"
            )
        )
        await conn.execute(
            text(
                f"CREATE CONSTRAINT TRIGGER {trigger} AFTER INSERT ON model_versions "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {trigger}()"
            )
        )
    try:
        failed = await api.upload_version(admin, org["id"], model["id"])
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP TRIGGER {trigger} ON model_versions"))
    assert failed.status_code == 500, failed.text
    assert [b for k, b in api.gateway.applied if k == MODEL_VERSION] == []
    assert _stored_keys(s3, org, model) == []
    registered = _mlflow_get(
        api.mlflow,
        f"mp-{org['slug']}",
        "/api/2.0/mlflow/model-versions/search",
        filter=f"name='{model['name']}'",
    ).json()
    assert registered.get("model_versions", []) == []
    retried = await api.upload_version(admin, org["id"], model["id"])
    assert retried.status_code == 201, retried.text
    assert retried.json()["data"]["version"] == 1
    assert len(_stored_keys(s3, org, model)) == 1


async def test_refused_uploads_leave_no_bytes_in_s3(api: Api, s3: Any) -> None:
    admin, org, model = await _org_with_model(api)
    features = [{"name": f"f{i}", "type": "numerical", "input": "x", "index": i} for i in range(4)]
    good = _parquet({f"f{i}": [0.1, 0.2] for i in range(4)})
    wrong_digest = await api.client.post(
        _versions_url(org, model),
        headers=admin["headers"],
        files={
            **version_form(metadata={"features": features}),
            "reference": ("ref.parquet", good, "application/vnd.apache.parquet"),
            "reference_sha256": (None, "0" * 64),
        },
    )
    assert wrong_digest.status_code == 400, wrong_digest.text
    assert wrong_digest.json()["error"]["details"]["reason"] == "DigestMismatch"
    policy = await api.upload_version(admin, org["id"], model["id"], b"not an onnx file")
    assert policy.status_code == 400, policy.text
    bad_spec = await api.upload_version(
        admin, org["id"], model["id"], metadata={"description": "x" * 100_000}
    )
    assert bad_spec.status_code in (400, 422), bad_spec.text
    assert _stored_keys(s3, org, model) == []


async def test_the_reconciliation_removes_orphaned_model_versions_nobody_uses(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    namespace = version["namespace"]

    def orphan(name: str, used_by: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelVersion",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"app.kubernetes.io/managed-by": "modelplane-api"},
                "annotations": {"modelplane.io/version-id": str(uuid.uuid4())},
            },
            "spec": {"modelName": model["name"], "version": "9"},
            "status": {"usedBy": used_by},
        }

    unused, used = f"{model['name']}-v8", f"{model['name']}-v9"
    api.gateway.objects[(MODEL_VERSION.plural, namespace, unused)] = orphan(unused, [])
    api.gateway.objects[(MODEL_VERSION.plural, namespace, used)] = orphan(used, ["web"])
    await reconcile_once(api.app.state.ctx)
    assert (MODEL_VERSION.plural, namespace, unused) not in api.gateway.objects
    assert (MODEL_VERSION.plural, namespace, used) in api.gateway.objects
    assert (MODEL_VERSION.plural, namespace, version["resource_name"]) in api.gateway.objects


# The GitOps guard fails closed: writes queued while the cluster was away, the reconciliation
# and renames all ask the Organization again before writing.


def _make_gitops_managed(api: Api, org: dict[str, Any]) -> None:
    organization = api.gateway.objects[("organizations", None, org["slug"])]
    organization["spec"]["gitopsManaged"] = True
    organization["metadata"]["labels"]["argocd.argoproj.io/instance"] = "ml-platform"


async def _unapplied(
    api: Api,
    reader: dict[str, Any],
    org: dict[str, Any],
    model: dict[str, Any],
    version: dict[str, Any],
) -> dict[str, Any]:
    """The version as the API shows it, once it is certain its ModelVersion was not applied."""
    applied = [b["metadata"]["name"] for k, b in api.gateway.applied if k == MODEL_VERSION]
    assert version["resource_name"] not in applied
    url = f"{_versions_url(org, model)}/{version['id']}"
    shown: dict[str, Any] = (await api.client.get(url, headers=reader["headers"])).json()["data"]
    return shown


async def _make_outbox_due(api: Api) -> None:
    from modelplane_api.outbox.models import OutboxEntry

    ctx = api.app.state.ctx
    async with ctx.sessions() as session:
        for entry in await session.scalars(select(OutboxEntry)):
            entry.next_attempt_at = ctx.clock()
        await session.commit()


async def test_a_queued_write_is_not_applied_once_the_organization_is_gitops_managed(
    api: Api,
) -> None:
    admin, org, model = await _org_with_model(api)
    api.gateway.fail_with = ClusterUnavailable("Kubernetes API unreachable")
    queued = await api.upload_version(admin, org["id"], model["id"])
    assert queued.status_code == 202, queued.text
    version = queued.json()["data"]
    api.gateway.fail_with = None
    _make_gitops_managed(api, org)
    await _make_outbox_due(api)
    await drain_once(api.app.state.ctx)
    shown = await _unapplied(api, admin, org, model, version)
    assert shown["state"] == "pending"
    assert "managed by Argo CD application 'ml-platform'" in shown["message"]


async def test_the_reconciliation_never_writes_into_a_gitops_managed_namespace(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    version = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    key = (MODEL_VERSION.plural, version["namespace"], version["resource_name"])
    _make_gitops_managed(api, org)
    api.gateway.objects.pop(key)
    await reconcile_once(api.app.state.ctx)
    assert key not in api.gateway.objects


async def test_renaming_a_gitops_managed_organization_is_refused_naming_the_owner(
    api: Api,
) -> None:
    admin, org, _ = await _org_with_model(api)
    _make_gitops_managed(api, org)
    before = len(api.gateway.applied)
    url = f"/api/v1/organizations/{org['id']}"
    renamed = await api.client.patch(url, headers=admin["headers"], json={"display_name": "New"})
    assert renamed.status_code == 409, renamed.text
    assert renamed.json()["error"]["details"] == {"owner": "Argo CD application 'ml-platform'"}
    assert len(api.gateway.applied) == before
    described = await api.client.patch(url, headers=admin["headers"], json={"description": "d"})
    assert described.status_code == 200, described.text


# One organization never stops the MLflow mirror for the others.


class _RefusingMirror:
    """A RegistryMirror (our own boundary) that refuses one workspace and takes the others."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.calls: list[str] = []

    async def ensure_workspace(self, workspace: str) -> None:
        """Nothing to do (organizations' pending workspaces are taken)."""

    async def ensure_model(self, workspace: str, name: str, description: str) -> None:
        """Nothing to do."""

    async def add_version(
        self, workspace: str, name: str, source: str, description: str, tags: dict[str, str]
    ) -> str:
        self.calls.append(workspace)
        if workspace == self.refused:
            raise MlflowRefused("MLflow refused creating a version of m: 400 INVALID_PARAMETER")
        return "7"

    async def find_run_model(self, workspace: str, run_id: str, path: str) -> RunModel:
        raise AssertionError("unexpected call")

    async def download(self, workspace: str, artifact_path: str, sink: Any, limit: int) -> int:
        raise AssertionError("unexpected call")


async def test_a_refusal_for_one_organization_never_stops_the_mirror_for_the_others(
    make_api: Any,
) -> None:
    api: Api = await make_api(mlflow_tracking_uri="http://127.0.0.1:1")
    admin_a, org_a, model_a = await _org_with_model(api)
    admin_b, org_b, model_b = await _org_with_model(api)
    first = (await api.upload_version(admin_a, org_a["id"], model_a["id"])).json()["data"]
    second = (await api.upload_version(admin_b, org_b["id"], model_b["id"])).json()["data"]
    ctx = api.app.state.ctx
    await ctx.mirror.aclose()
    mirror = _RefusingMirror(refused=f"mp-{org_a['slug']}")
    ctx.mirror = mirror
    api.clock.now = datetime.now(UTC) + timedelta(hours=1)
    assert await mirror_pending(ctx) >= 1
    api.clock.now = None
    url_a = f"{_versions_url(org_a, model_a)}/{first['id']}"
    url_b = f"{_versions_url(org_b, model_b)}/{second['id']}"
    refused = (await api.client.get(url_a, headers=admin_a["headers"])).json()["data"]
    assert refused["mlflow_version"] is None
    assert "INVALID_PARAMETER" in refused["mlflow_error"]
    taken = (await api.client.get(url_b, headers=admin_b["headers"])).json()["data"]
    assert (taken["mlflow_version"], taken["mlflow_error"]) == ("7", None)
    asked = mirror.calls.count(f"mp-{org_a['slug']}")
    api.clock.now = datetime.now(UTC) + timedelta(hours=1, minutes=50)
    await mirror_pending(ctx)  # a refusal is retried in an hour, not on every pass
    assert mirror.calls.count(f"mp-{org_a['slug']}") == asked


def _mlflow_delete_model(mlflow: MLflow, workspace: str, name: str) -> httpx.Response:
    return httpx.request(
        "DELETE",
        f"{mlflow.url}/api/2.0/mlflow/registered-models/delete",
        json={"name": name},
        headers={"X-MLFLOW-WORKSPACE": workspace, **mlflow.headers()},
        timeout=10,
    )


async def test_a_registered_model_deleted_in_mlflow_is_created_again(
    make_api: Any, mlflow_server: MLflow
) -> None:
    api: Api = await make_api(mlflow_tracking_uri=mlflow_server.url)
    admin, org, model = await _org_with_model(api)
    first = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    assert first["mlflow_version"] == "1"
    workspace = f"mp-{org['slug']}"
    deleted = _mlflow_delete_model(mlflow_server, workspace, model["name"])
    assert deleted.status_code == 200, deleted.text
    second = (await api.upload_version(admin, org["id"], model["id"])).json()["data"]
    assert second["mlflow_error"] is None
    assert second["mlflow_version"] == "1"  # the first version of the model created again
    found = _mlflow_get(
        mlflow_server,
        workspace,
        "/api/2.0/mlflow/model-versions/get",
        name=model["name"],
        version="1",
    )
    tags = {t["key"]: t["value"] for t in found.json()["model_version"]["tags"]}
    assert tags["modelplane.io/version-id"] == second["id"]


async def test_uploads_over_the_processs_slots_get_503_with_retry_after_and_store_nothing(
    make_api: Any, s3: Any
) -> None:
    api: Api = await make_api(max_concurrent_uploads=1)
    admin, org, model = await _org_with_model(api)
    slots = api.app.state.ctx.upload_slots
    await slots.acquire()  # another upload is being checked
    try:
        busy = await api.upload_version(admin, org["id"], model["id"])
    finally:
        slots.release()
    assert busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "5"
    assert busy.json()["error"]["code"] == "uploads_busy"
    assert _stored_keys(s3, org, model) == []
    taken = await api.upload_version(admin, org["id"], model["id"])
    assert taken.status_code == 201, taken.text
    assert taken.json()["data"]["version"] == 1


async def test_an_mlflow_that_never_answers_does_not_hold_up_uploads_to_the_same_model(
    make_api: Any, mlflow_server: MLflow
) -> None:
    """MLflow accepts connections and never answers: the uploads' mirror calls all wait at
    once (the model row's lock was released at the commit, before MLflow was called), each
    upload completes when its call times out, and the mirror catches up when MLflow is back."""
    api: Api = await make_api(max_concurrent_uploads=4)
    admin, org, model = await _org_with_model(api)
    waiting: list[asyncio.StreamWriter] = []
    all_waiting = asyncio.Event()

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        waiting.append(writer)
        if len(waiting) == 3:
            all_waiting.set()
        await asyncio.sleep(3600)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ctx = api.app.state.ctx
    await ctx.mirror.aclose()
    ctx.mirror = HttpRegistryMirror(f"http://127.0.0.1:{port}", timeout=20)
    try:
        uploads = [
            asyncio.create_task(api.upload_version(admin, org["id"], model["id"])) for _ in range(3)
        ]
        # Three calls wait on MLflow together; with the lock held they would come one by one.
        await asyncio.wait_for(all_waiting.wait(), timeout=15)
        for writer in waiting:
            writer.close()  # MLflow drops them: each upload completes now
        responses = await asyncio.gather(*uploads)
    finally:
        server.close()
        await ctx.mirror.aclose()
    assert sorted(r.json()["data"]["version"] for r in responses) == [1, 2, 3]
    assert all(r.status_code == 201 for r in responses)
    assert all(r.json()["data"]["mlflow_version"] is None for r in responses)
    ctx.mirror = HttpRegistryMirror(mlflow_server.url, token=mlflow_server.token)
    api.clock.now = datetime.now(UTC) + timedelta(hours=1)
    try:
        await mirror_pending(ctx)
    finally:
        await ctx.mirror.aclose()
        api.clock.now = None
    listed = await api.client.get(_versions_url(org, model), headers=admin["headers"])
    assert sorted(v["mlflow_version"] for v in listed.json()["data"]) == ["1", "2", "3"]


async def test_an_upload_is_read_and_applied_as_the_caller(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    developer = await api.register("dev")
    await api.add_member(admin, org["id"], developer, "developer")
    response = await api.upload_version(developer, org["id"], model["id"])
    assert response.status_code == 201, response.text
    person = ClusterCaller(f"modelplane:user:{developer['id']}", "developer")
    assert ("apply", person) in api.gateway.calls_as
    assert ("list_objects", person) in api.gateway.calls_as
    # The cluster-scoped Organization is read as the facade itself.
    assert ("get", None) in api.gateway.calls_as


async def test_a_queued_write_of_a_removed_member_is_never_applied(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    developer = await api.register("dev")
    await api.add_member(admin, org["id"], developer, "developer")
    api.gateway.fail_with = ClusterUnavailable("Kubernetes API unreachable")
    queued = await api.upload_version(developer, org["id"], model["id"])
    assert queued.status_code == 202, queued.text
    version = queued.json()["data"]
    api.gateway.fail_with = None
    removed = await api.client.delete(
        f"/api/v1/organizations/{org['id']}/members/{developer['id']}", headers=admin["headers"]
    )
    assert removed.status_code == 204, removed.text
    await _make_outbox_due(api)
    await drain_once(api.app.state.ctx)
    shown = await _unapplied(api, admin, org, model, version)
    assert shown["state"] == "pending"
    assert f"modelplane:user:{developer['id']}" in shown["message"]
    assert "no longer a member" in shown["message"]
    assert "never applied as the facade" in shown["message"]


async def test_a_queued_write_is_applied_as_the_member_who_asked(api: Api) -> None:
    admin, org, model = await _org_with_model(api)
    api.gateway.fail_with = ClusterUnavailable("Kubernetes API unreachable")
    queued = await api.upload_version(admin, org["id"], model["id"])
    assert queued.status_code == 202, queued.text
    api.gateway.fail_with = None
    api.gateway.calls_as.clear()
    await _make_outbox_due(api)
    assert await drain_once(api.app.state.ctx) >= 1
    person = ClusterCaller(f"modelplane:user:{admin['id']}", "admin")
    assert ("apply", person) in api.gateway.calls_as
