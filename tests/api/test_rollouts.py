"""Rollouts through the facade: a candidate with a preset or custom strategy, promote, resume
and rollback, and the history of who rolled out what, when and how it ended (the cluster faked
at our gateway; the operator's part played by setting statuses)."""

from __future__ import annotations

from typing import Any

import httpx

from modelplane_api.cluster import FIELD_MANAGER, MODEL_DEPLOYMENT
from modelplane_cli.local.services import MLflow

from .catalog import mark_ready
from .conftest import Api

NOW = "2026-12-07T05:00:00Z"


async def _deployment(
    api: Api, *, versions: int = 2, payload_logging: bool = False
) -> tuple[dict[str, Any], dict[str, Any], str, list[dict[str, Any]]]:
    """An org, a model with `versions` Ready versions and a deployment serving the first."""
    admin = await api.register("ds")
    org = await api.create_org(admin)
    model = await api.create_model(admin, org["id"], "fraud")
    made = []
    for _ in range(versions):
        response = await api.upload_version(admin, org["id"], model["id"])
        assert response.status_code == 201, response.text
        made.append(response.json()["data"])
        mark_ready(api.gateway, f"mp-{org['slug']}", made[-1]["resource_name"])
    base = f"/api/v1/organizations/{org['id']}/deployments"
    body: dict[str, Any] = {"version_id": made[0]["id"]}
    if payload_logging:
        body["payload_logging"] = {"sampleRate": 0.5}
    created = await api.client.post(base, headers=admin["headers"], json=body)
    assert created.status_code == 201, created.text
    return admin, org, f"{base}/fraud-staging", made


def _live(api: Api, org: dict[str, Any]) -> dict[str, Any]:
    return api.gateway.objects[(MODEL_DEPLOYMENT.plural, f"mp-{org['slug']}", "fraud-staging")]


async def _history(api: Api, caller: dict[str, Any], url: str) -> list[dict[str, Any]]:
    response = await api.client.get(f"{url}/rollouts", headers=caller["headers"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items


async def test_the_canary_preset_needs_only_the_version(api: Api) -> None:
    admin, org, url, (v1, v2) = await _deployment(api)
    started = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    assert started.status_code == 201, started.text
    spec = _live(api, org)["spec"]
    assert spec["stable"] == {"modelVersionRef": {"name": v1["resource_name"]}}
    assert spec["candidate"] == {"modelVersionRef": {"name": v2["resource_name"]}}
    weights = [s.get("setWeight") for s in spec["strategy"]["canary"]["steps"]]
    assert weights == [10, None, 50, None, 100]
    assert set(spec["analysis"]["checks"]) == {"errorRate", "latencyP99"}
    assert (spec["onFailure"], spec["promotion"]) == ("rollback", "auto")
    assert started.json()["data"]["candidate_version"] == v2["resource_name"]
    (entry,) = await _history(api, admin, url)
    assert (entry["from_version"], entry["to_version"], entry["outcome"]) == (
        v1["resource_name"],
        v2["resource_name"],
        "in_progress",
    )
    assert entry["started_by"] == admin["id"]
    again = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"]["reason"] == "RolloutInProgress"


async def test_with_payload_logging_the_preset_also_checks_prediction_drift(api: Api) -> None:
    admin, org, url, (_, v2) = await _deployment(api, payload_logging=True)
    started = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    assert started.status_code == 201, started.text
    checks = _live(api, org)["spec"]["analysis"]["checks"]
    assert checks["predictionDrift"] == {"test": "jsd", "max": 0.1}


async def test_custom_steps_and_checks_replace_the_preset(api: Api) -> None:
    admin, org, url, (_, v2) = await _deployment(api)
    strategy = {"canary": {"steps": [{"setWeight": 30}, {"pause": {}}, {"setWeight": 100}]}}
    analysis = {"interval": "30s", "checks": {"errorRate": {"max": 0.05}}}
    started = await api.client.post(
        f"{url}/rollouts",
        headers=admin["headers"],
        json={
            "version_id": v2["id"],
            "strategy": strategy,
            "analysis": analysis,
            "promotion": "manual",
            "on_failure": "pause",
        },
    )
    assert started.status_code == 201, started.text
    spec = _live(api, org)["spec"]
    assert spec["strategy"] == strategy
    assert spec["analysis"]["checks"] == {"errorRate": {"max": 0.05}}
    assert (spec["promotion"], spec["onFailure"]) == ("manual", "pause")
    bad = await api.client.post(
        f"{url}/rollback", headers=admin["headers"], json={"reason": "try again"}
    )
    assert bad.status_code == 200
    decreasing = {"canary": {"steps": [{"setWeight": 50}, {"setWeight": 20}]}}
    refused = await api.client.post(
        f"{url}/rollouts",
        headers=admin["headers"],
        json={"version_id": v2["id"], "strategy": decreasing},
    )
    assert refused.status_code == 400  # the CRD's own rule: weights never decrease
    assert "setWeight must not decrease" in str(refused.json()["error"])


async def test_all_at_once_sets_no_steps_and_no_checks(api: Api) -> None:
    admin, org, url, (_, v2) = await _deployment(api)
    started = await api.client.post(
        f"{url}/rollouts",
        headers=admin["headers"],
        json={"version_id": v2["id"], "preset": "all-at-once"},
    )
    assert started.status_code == 201, started.text
    spec = _live(api, org)["spec"]
    assert "strategy" not in spec
    assert "analysis" not in spec
    assert spec["candidate"] == {"modelVersionRef": {"name": v2["resource_name"]}}


async def test_promote_and_resume_set_the_operators_annotation_without_touching_the_spec(
    api: Api,
) -> None:
    admin, org, url, (_, v2) = await _deployment(api)
    nothing = await api.client.post(f"{url}/promote", headers=admin["headers"])
    assert nothing.status_code == 409
    assert nothing.json()["error"]["details"]["reason"] == "NoRollout"
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    spec_before = dict(_live(api, org)["spec"])
    promoted = await api.client.post(
        f"{url}/promote", headers=admin["headers"], json={"reason": "checked by hand"}
    )
    assert promoted.status_code == 200, promoted.text
    assert api.gateway.managers[-1] != FIELD_MANAGER
    _, applied = api.gateway.applied[-1]
    assert applied["metadata"]["annotations"] == {"modelplane.io/promote": "true"}
    assert "spec" not in applied
    assert _live(api, org)["spec"] == spec_before
    resumed = await api.client.post(f"{url}/resume", headers=admin["headers"])
    assert resumed.status_code == 200, resumed.text
    assert api.gateway.applied[-1][1]["metadata"]["annotations"] == {"modelplane.io/resume": "true"}


async def test_a_rollback_sends_traffic_back_and_is_kept_with_its_reason(api: Api) -> None:
    admin, org, url, (v1, v2) = await _deployment(api)
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    rolled = await api.client.post(
        f"{url}/rollback", headers=admin["headers"], json={"reason": "p99 doubled"}
    )
    assert rolled.status_code == 200, rolled.text
    spec = _live(api, org)["spec"]
    assert "candidate" not in spec
    assert spec["stable"] == {"modelVersionRef": {"name": v1["resource_name"]}}
    (entry,) = await _history(api, admin, url)
    assert (entry["outcome"], entry["reason"]) == (
        "rolled_back",
        "rolled back by hand: p99 doubled",
    )
    assert entry["ended_by"] == admin["id"]
    assert entry["ended_at"] is not None
    twice = await api.client.post(f"{url}/rollback", headers=admin["headers"])
    assert twice.status_code == 409


async def test_the_operators_promotion_is_recorded_and_the_next_rollout_starts_from_it(
    api: Api,
) -> None:
    admin, org, url, (v1, v2, v3) = await _deployment(api, versions=3)
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    live = _live(api, org)
    live["status"] = {  # the operator promoted v2 after the last step
        "stableVersion": v2["resource_name"],
        "rolloutState": "Idle",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "RolloutComplete",
                "message": "serving",
                "lastTransitionTime": NOW,
            }
        ],
    }
    (entry,) = await _history(api, admin, url)
    assert (entry["outcome"], entry["ended_at"]) == ("promoted", "2026-12-07T05:00:00Z")
    same = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    assert same.status_code == 409
    assert same.json()["error"]["details"]["reason"] == "AlreadyServing"
    started = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v3["id"]}
    )
    assert started.status_code == 201, started.text
    spec = _live(api, org)["spec"]
    assert spec["stable"] == {"modelVersionRef": {"name": v2["resource_name"]}}
    assert spec["candidate"] == {"modelVersionRef": {"name": v3["resource_name"]}}
    newest, oldest = await _history(api, admin, url)
    assert (newest["from_version"], newest["to_version"]) == (
        v2["resource_name"],
        v3["resource_name"],
    )
    assert (oldest["from_version"], oldest["outcome"]) == (v1["resource_name"], "promoted")


async def test_the_operators_rollback_is_recorded_with_its_reason(api: Api) -> None:
    admin, org, url, (v1, v2) = await _deployment(api)
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    _live(api, org)["status"] = {
        "stableVersion": v1["resource_name"],
        "rolloutState": "RolledBack",
        "rollback": {
            "reason": "AnalysisFailed",
            "message": "errorRate 1 > 0.01",
            "at": "2099-01-01T00:00:00Z",
            "rejectedVersion": v2["resource_name"],
        },
    }
    (entry,) = await _history(api, admin, url)
    assert (entry["outcome"], entry["reason"]) == (
        "rolled_back",
        "AnalysisFailed: errorRate 1 > 0.01",
    )
    assert entry["ended_by"] is None
    nothing = await api.client.post(f"{url}/promote", headers=admin["headers"])
    assert nothing.status_code == 409  # a rejected candidate cannot be promoted
    again = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    assert again.status_code == 201, again.text  # a rejected version may be tried again


async def test_a_version_of_another_model_or_not_ready_is_refused(api: Api) -> None:
    admin, org, url, (v1,) = await _deployment(api, versions=1)
    pending = await api.upload_version(admin, org["id"], v1["model_id"])
    refused = await api.client.post(
        f"{url}/rollouts",
        headers=admin["headers"],
        json={"version_id": pending.json()["data"]["id"]},
    )
    assert refused.status_code == 409  # not Ready yet
    assert refused.json()["error"]["details"]["state"] != "ready"
    other = await api.create_model(admin, org["id"], "churn")
    churn = (await api.upload_version(admin, org["id"], other["id"])).json()["data"]
    mark_ready(api.gateway, f"mp-{org['slug']}", churn["resource_name"])
    refused = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": churn["id"]}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["reason"] == "OtherModel"


async def test_a_developer_may_not_roll_out_to_production(api: Api) -> None:
    admin, org, url, (_, v2) = await _deployment(api)
    developer = await api.register("dev")
    await api.add_member(admin, org["id"], developer, "developer")
    _live(api, org)["spec"]["environment"] = "production"
    denied = await api.client.post(
        f"{url}/rollouts", headers=developer["headers"], json={"version_id": v2["id"]}
    )
    assert denied.status_code == 403
    allowed = await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    assert allowed.status_code == 201, allowed.text
    for action in ("promote", "resume", "rollback"):
        denied = await api.client.post(f"{url}/{action}", headers=developer["headers"])
        assert denied.status_code == 403, action


async def test_promote_to_production_creates_then_rolls_out_admin_only(api: Api) -> None:
    admin, org, url, (v1, v2) = await _deployment(api, payload_logging=True)
    base = url.rsplit("/", 1)[0]
    developer = await api.register("dev")
    await api.add_member(admin, org["id"], developer, "developer")
    denied = await api.client.post(f"{url}/promote-to-production", headers=developer["headers"])
    assert denied.status_code == 403
    created = await api.client.post(
        f"{url}/promote-to-production", headers=admin["headers"], json={"reason": "signed off"}
    )
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert (data["action"], data["version"]) == ("created", v1["resource_name"])
    production = api.gateway.objects[
        (MODEL_DEPLOYMENT.plural, f"mp-{org['slug']}", "fraud-production")
    ]
    assert production["spec"]["environment"] == "production"
    assert production["spec"]["stable"] == {"modelVersionRef": {"name": v1["resource_name"]}}
    assert production["spec"]["payloadLogging"] == {"sampleRate": 0.5}  # staging's settings
    again = await api.client.post(f"{url}/promote-to-production", headers=admin["headers"])
    assert again.status_code == 409  # production serves v1 already
    assert again.json()["error"]["details"]["reason"] == "AlreadyServing"
    # v2 is promoted in staging (the operator's status), then copied as a canary to production
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    _live(api, org)["status"] = {"stableVersion": v2["resource_name"], "rolloutState": "Idle"}
    rolled = await api.client.post(f"{url}/promote-to-production", headers=admin["headers"])
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["data"]["action"] == "rollout_started"
    production = api.gateway.objects[
        (MODEL_DEPLOYMENT.plural, f"mp-{org['slug']}", "fraud-production")
    ]
    assert production["spec"]["candidate"] == {"modelVersionRef": {"name": v2["resource_name"]}}
    assert "predictionDrift" in production["spec"]["analysis"]["checks"]
    history = await _history(api, admin, f"{base}/fraud-production")
    assert [h["to_version"] for h in history] == [v2["resource_name"]]
    from_production = await api.client.post(
        f"{base}/fraud-production/promote-to-production", headers=admin["headers"]
    )
    assert from_production.status_code == 409
    assert from_production.json()["error"]["details"]["reason"] == "NotStaging"


def _aliases(mlflow: MLflow, org: dict[str, Any], model: str) -> dict[str, str]:
    """The registered model's aliases in the organization's MLflow workspace."""
    found = httpx.get(
        f"{mlflow.url}/api/2.0/mlflow/registered-models/get",
        params={"name": model},
        headers={"X-MLFLOW-WORKSPACE": f"mp-{org['slug']}", **mlflow.headers()},
        timeout=10,
    )
    assert found.status_code == 200, found.text
    return {a["alias"]: a["version"] for a in found.json()["registered_model"].get("aliases", [])}


async def test_mlflow_aliases_follow_the_deployments(api: Api) -> None:
    admin, org, url, (v1, v2, v3) = await _deployment(api, versions=3)
    assert [v["mlflow_version"] for v in (v1, v2, v3)] == ["1", "2", "3"]
    assert _aliases(api.mlflow, org, "fraud") == {"staging": "1"}
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    assert _aliases(api.mlflow, org, "fraud") == {"staging": "1", "candidate": "2"}
    _live(api, org)["status"] = {"stableVersion": v2["resource_name"], "rolloutState": "Idle"}
    await _history(api, admin, url)  # the facade sees the promotion
    assert _aliases(api.mlflow, org, "fraud") == {"staging": "2"}
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v3["id"]}
    )
    assert _aliases(api.mlflow, org, "fraud")["candidate"] == "3"
    await api.client.post(f"{url}/rollback", headers=admin["headers"])
    assert _aliases(api.mlflow, org, "fraud") == {"staging": "2"}
    promoted = await api.client.post(f"{url}/promote-to-production", headers=admin["headers"])
    assert promoted.status_code == 200, promoted.text
    assert _aliases(api.mlflow, org, "fraud") == {"staging": "2", "production": "2"}


async def test_pause_holds_the_rollout_in_the_spec_and_resume_lets_it_go_on(api: Api) -> None:
    admin, org, url, (_, v2) = await _deployment(api)
    nothing = await api.client.post(f"{url}/pause", headers=admin["headers"])
    assert nothing.status_code == 409
    await api.client.post(
        f"{url}/rollouts", headers=admin["headers"], json={"version_id": v2["id"]}
    )
    paused = await api.client.post(
        f"{url}/pause", headers=admin["headers"], json={"reason": "p99 looks odd"}
    )
    assert paused.status_code == 200, paused.text
    assert _live(api, org)["spec"]["paused"] is True
    assert _live(api, org)["spec"]["candidate"] == {
        "modelVersionRef": {"name": v2["resource_name"]}
    }
    resumed = await api.client.post(f"{url}/resume", headers=admin["headers"])
    assert resumed.status_code == 200, resumed.text
    assert _live(api, org)["spec"]["paused"] is False
    assert api.gateway.managers[-1] == FIELD_MANAGER  # un-paused in the spec, no annotation
    again = await api.client.post(f"{url}/resume", headers=admin["headers"])
    assert again.status_code == 200  # not paused by hand: ends a pause step instead
    assert api.gateway.applied[-1][1]["metadata"]["annotations"] == {"modelplane.io/resume": "true"}
