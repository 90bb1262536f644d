"""The dashboard's experiment and run endpoints against the session's real MLflow server
(PostgreSQL backend, workspaces): envelope, cursor pages, MLflow's search syntax, metric
histories in one call, run comparison, audit, and another organization's ids answering 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from modelplane_api.audit.models import AuditEvent
from tests.mlflow_registry import log_model_run, tracked_runs

from .conftest import Api, small_model

pytestmark = pytest.mark.integration


async def _org(api: Api) -> tuple[dict[str, Any], str, str]:
    """(admin, org id, workspace) of a new organization."""
    admin = await api.register("ds")
    org = await api.create_org(admin)
    return admin, org["id"], f"mp-{org['slug']}"


async def test_experiments_are_created_listed_by_cursor_renamed_and_deleted(api: Api) -> None:
    admin, org_id, _ = await _org(api)
    base = f"/api/v1/organizations/{org_id}/experiments"
    headers = admin["headers"]
    created = []
    for name in ("fraud-a", "fraud-b", "churn"):
        response = await api.client.post(
            base, headers=headers, json={"name": name, "tags": {"team": "risk"}}
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["data"])
    assert created[0]["name"] == "fraud-a"
    assert created[0]["tags"] == {"team": "risk"}
    assert created[0]["lifecycle_stage"] == "active"
    taken = await api.client.post(base, headers=headers, json={"name": "churn"})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "already_exists"

    first = await api.client.get(base, headers=headers, params={"limit": 2, "sort": "name"})
    assert first.status_code == 200, first.text
    cursor = first.json()["meta"]["next_cursor"]
    assert cursor
    rest = await api.client.get(
        base, headers=headers, params={"limit": 2, "sort": "name", "cursor": cursor}
    )
    names = [e["name"] for e in first.json()["data"] + rest.json()["data"]]
    assert [n for n in names if n != "Default"] == ["churn", "fraud-a", "fraud-b"]
    filtered = await api.client.get(base, headers=headers, params={"filter[name]": "FRAUD"})
    assert {e["name"] for e in filtered.json()["data"]} == {"fraud-a", "fraud-b"}
    quoted = await api.client.get(base, headers=headers, params={"filter[name]": "x' OR '1"})
    assert quoted.status_code == 400
    forged = await api.client.get(base, headers=headers, params={"cursor": "Éa³"})
    assert forged.status_code == 400
    assert "meta.next_cursor" in forged.json()["error"]["message"]

    one = f"{base}/{created[1]['id']}"
    renamed = await api.client.patch(one, headers=headers, json={"name": "fraud-v2"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["data"]["name"] == "fraud-v2"
    assert (await api.client.delete(one, headers=headers)).status_code == 204
    gone = await api.client.get(base, headers=headers)
    assert "fraud-v2" not in {e["name"] for e in gone.json()["data"]}
    deleted = await api.client.get(one, headers=headers)
    assert deleted.json()["data"]["lifecycle_stage"] == "deleted"

    async with api.app.state.ctx.sessions() as session:
        events = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.organization_id == org_id)
                .where(AuditEvent.resource_type == "experiment")
                .order_by(AuditEvent.created_at)
            )
        )
    assert [(e.action, e.outcome) for e in events] == [
        ("experiment.create", "success"),
        ("experiment.create", "success"),
        ("experiment.create", "success"),
        ("experiment.create", "failure"),
        ("experiment.update", "success"),
        ("experiment.delete", "success"),
    ]
    assert events[4].before == {"name": "fraud-b"}
    assert events[4].after == {"name": "fraud-v2"}


async def test_runs_are_searched_opened_charted_and_compared(api: Api) -> None:
    admin, org_id, workspace = await _org(api)
    headers = admin["headers"]
    model_run = log_model_run(api.mlflow, workspace, small_model())
    experiment_id, (shallow, deep) = tracked_runs(api.mlflow, workspace)
    runs = f"/api/v1/organizations/{org_id}/runs"

    found = await api.client.get(
        runs,
        headers=headers,
        params={"experiment_id": experiment_id, "query": "metrics.auc > 0.85", "limit": 10},
    )
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["data"]] == [deep]
    run = found.json()["data"][0]
    assert run["params"] == {"depth": "8", "lr": "0.1"}
    assert run["metrics"]["auc"] == pytest.approx(0.9)
    assert run["tags"] == {"team": "risk"}
    assert run["status"] == "FINISHED"
    assert run["name"] == "depth-8"

    ordered = await api.client.get(runs, headers=headers, params={"sort": "-metrics.auc"})
    tracked = [r["id"] for r in ordered.json()["data"] if r["experiment_id"] == experiment_id]
    assert tracked == [deep, shallow]  # every experiment of the organization when none is named
    assert model_run in {r["id"] for r in ordered.json()["data"]}
    running = await api.client.get(runs, headers=headers, params={"status": "RUNNING"})
    assert [r["id"] for r in running.json()["data"]] == [model_run]
    paged = await api.client.get(runs, headers=headers, params={"limit": 1, "sort": "name"})
    assert len(paged.json()["data"]) == 1
    assert paged.json()["meta"]["next_cursor"]

    bad_query = await api.client.get(runs, headers=headers, params={"query": "metrics.auc >>"})
    assert bad_query.status_code == 400
    assert bad_query.json()["error"]["code"] == "bad_request"
    bad_sort = await api.client.get(runs, headers=headers, params={"sort": "password"})
    assert bad_sort.status_code == 400
    assert "metrics.<key>" in bad_sort.json()["error"]["message"]

    detail = await api.client.get(f"{runs}/{model_run}", headers=headers)
    assert detail.status_code == 200, detail.text
    artifacts = detail.json()["data"]["artifacts"]
    assert artifacts[0] == {"path": "model", "is_dir": True, "size": None}
    assert {a["path"] for a in artifacts[1:]} == {"model/MLmodel", "model/model.onnx"}
    assert detail.json()["data"]["artifacts_truncated"] is False

    charted = await api.client.get(
        f"{runs}/metrics",
        headers=headers,
        params={"run_id": [shallow, deep], "key": "loss", "points": 10},
    )
    assert charted.status_code == 200, charted.text
    series = {s["run_id"]: s["points"] for s in charted.json()["data"]}
    assert set(series) == {shallow, deep}
    for points in series.values():
        steps = [p["step"] for p in points]
        assert steps == sorted(steps)
        assert steps[0] == 0
        assert steps[-1] == 19
        assert len(steps) < 20  # sampled to the point budget by MLflow
    assert series[shallow][0]["value"] == pytest.approx(1.0)

    compared = await api.client.get(
        f"{runs}/compare", headers=headers, params={"run_id": [shallow, deep]}
    )
    assert compared.status_code == 200, compared.text
    data = compared.json()["data"]
    assert [r["id"] for r in data["runs"]] == [shallow, deep]
    assert data["params"][0] == {
        "key": "depth",
        "values": {shallow: "4", deep: "8"},
        "differs": True,
    }
    assert data["params"][1]["key"] == "lr"
    assert data["params"][1]["differs"] is False
    assert {m["key"] for m in data["metrics"]} == {"auc", "loss"}
    same = await api.client.get(
        f"{runs}/compare", headers=headers, params={"run_id": [shallow, shallow]}
    )
    assert same.status_code == 400


async def test_another_organizations_runs_and_experiments_answer_404(api: Api) -> None:
    admin, org_id, _ = await _org(api)
    _, _, other_workspace = await _org(api)
    experiment_id, (theirs, _) = tracked_runs(api.mlflow, other_workspace)
    base = f"/api/v1/organizations/{org_id}"
    headers = admin["headers"]
    for url, params in (
        (f"{base}/experiments/{experiment_id}", {}),
        (f"{base}/runs/{theirs}", {}),
        (f"{base}/runs/metrics", {"run_id": theirs, "key": "loss"}),
        (f"{base}/runs/compare", {"run_id": [theirs, theirs]}),
    ):
        response = await api.client.get(url, headers=headers, params=params)
        assert response.status_code == 404, (url, response.text)
        assert response.json()["error"]["code"] == "not_found"
    renamed = await api.client.patch(
        f"{base}/experiments/{experiment_id}", headers=headers, json={"name": "stolen"}
    )
    assert renamed.status_code == 404
    searched = await api.client.get(
        f"{base}/runs", headers=headers, params={"experiment_id": experiment_id}
    )
    assert searched.status_code in (200, 404)
    assert theirs not in searched.text
