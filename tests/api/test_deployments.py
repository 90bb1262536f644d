"""Deployments through the facade: ModelDeployments applied into the organization's namespace
from a Ready registry version (the cluster faked at our gateway; the operator's part played by
setting statuses), their phase and rollout state read from the status."""

from __future__ import annotations

from typing import Any

import httpx

from modelplane_api.cluster import MODEL_DEPLOYMENT
from modelplane_api.errors import ClusterUnavailable

from .catalog import add_deployment, mark_ready
from .conftest import Api

NOW = "2026-12-04T03:00:00Z"


async def _org(api: Api) -> tuple[dict[str, Any], dict[str, Any], str]:
    admin = await api.register("ds")
    org = await api.create_org(admin)
    return admin, org, f"/api/v1/organizations/{org['id']}/deployments"


async def _version(
    api: Api, caller: dict[str, Any], org: dict[str, Any], name: str, *, ready: bool = True
) -> dict[str, Any]:
    """A registered version of a new model `name`, Ready in the cluster unless told otherwise."""
    model = await api.create_model(caller, org["id"], name)
    response = await api.upload_version(caller, org["id"], model["id"])
    assert response.status_code == 201, response.text
    version: dict[str, Any] = response.json()["data"]
    if ready:
        mark_ready(api.gateway, f"mp-{org['slug']}", version["resource_name"])
    return version


def _condition(type_: str, status: str, reason: str, generation: int = 1) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": f"{reason} message",
        "observedGeneration": generation,
        "lastTransitionTime": NOW,
    }


async def _member(api: Api, admin: dict[str, Any], org: dict[str, Any], role: str) -> Any:
    caller = await api.register(role)
    await api.add_member(admin, org["id"], caller, role)
    return caller["headers"]


async def test_a_ready_version_is_deployed_with_defaults_from_the_version_alone(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "fraud")
    created = await api.client.post(
        base, headers=admin["headers"], json={"version_id": version["id"]}
    )
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert (data["name"], data["environment"], data["model"]) == (
        "fraud-staging",
        "staging",
        "fraud",
    )
    assert (data["phase"], data["stable_version"]) == ("Pending", version["resource_name"])
    namespace = f"mp-{org['slug']}"
    applied = api.gateway.objects[(MODEL_DEPLOYMENT.plural, namespace, "fraud-staging")]
    assert applied["kind"] == "ModelDeployment"
    assert applied["metadata"]["labels"] == {
        "modelplane.io/model": "fraud",
        "app.kubernetes.io/managed-by": "modelplane-api",
    }
    assert applied["spec"]["stable"] == {"modelVersionRef": {"name": version["resource_name"]}}
    assert applied["spec"]["environment"] == "staging"
    assert "scaling" not in applied["spec"]
    again = await api.client.post(
        base, headers=admin["headers"], json={"version_id": version["id"]}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_exists"


async def test_settings_map_onto_the_model_deployments_own_fields(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "churn")
    created = await api.client.post(
        base,
        headers=admin["headers"],
        json={
            "version_id": version["id"],
            "name": "churn-api",
            "environment": "production",
            "scaling": {"minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercent": 60},
            "runtime": {"intraOpThreads": 2, "batching": {"maxBatchSize": 16}},
            "payload_logging": {"sampleRate": 0.25},
        },
    )
    assert created.status_code == 201, created.text
    spec = api.gateway.objects[(MODEL_DEPLOYMENT.plural, f"mp-{org['slug']}", "churn-api")]["spec"]
    assert spec["environment"] == "production"
    assert spec["scaling"] == {
        "minReplicas": 2,
        "maxReplicas": 5,
        "targetCPUUtilizationPercent": 60,
    }
    assert spec["runtime"] == {
        "intraOpThreads": 2,
        "batching": {"maxBatchSize": 16, "maxLatencyMs": 5.0},
    }
    assert spec["payloadLogging"] == {"sampleRate": 0.25}
    both = await api.client.post(
        base,
        headers=admin["headers"],
        json={
            "version_id": version["id"],
            "name": "x",
            "scaling": {"replicas": 1, "maxReplicas": 2},
        },
    )
    assert both.status_code == 400  # the CRD's own rule, beyond the OpenAPI schema
    assert "mutually exclusive" in str(both.json()["error"]["details"])


async def test_a_version_that_is_not_ready_is_refused_with_its_state(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "slow", ready=False)
    refused = await api.client.post(
        base, headers=admin["headers"], json={"version_id": version["id"]}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["state"] == "verifying"
    key = ("modelversions", f"mp-{org['slug']}", version["resource_name"])
    api.gateway.objects[key]["status"] = {
        "conditions": [
            _condition("Ready", "False", "DigestMismatch", 0),
            _condition("Stalled", "True", "DigestMismatch", 0),
        ]
    }
    stalled = await api.client.post(
        base, headers=admin["headers"], json={"version_id": version["id"]}
    )
    assert stalled.status_code == 409
    details = stalled.json()["error"]["details"]
    assert (details["state"], details["reason"]) == ("stalled", "DigestMismatch")
    assert not [k for k in api.gateway.objects if k[0] == MODEL_DEPLOYMENT.plural]


async def test_a_version_of_another_organization_is_not_found(api: Api) -> None:
    admin, _, base = await _org(api)
    other_admin = await api.register("other")
    other = await api.create_org(other_admin)
    foreign = await _version(api, other_admin, other, "theirs")
    response = await api.client.post(
        base, headers=admin["headers"], json={"version_id": foreign["id"]}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    # …and another organization's deployments are 404 too, never 403.
    made = await api.client.post(
        f"/api/v1/organizations/{other['id']}/deployments",
        headers=other_admin["headers"],
        json={"version_id": foreign["id"]},
    )
    assert made.status_code == 201
    for method in ("GET", "PATCH", "DELETE"):
        url = f"/api/v1/organizations/{other['id']}/deployments/theirs-staging"
        response = await api.client.request(
            method, url, headers=admin["headers"], json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, (method, response.text)
        own = await api.client.request(
            method,
            f"{base}/theirs-staging",
            headers=admin["headers"],
            json={} if method == "PATCH" else None,
        )
        assert own.status_code == 404, (method, own.text)


async def test_the_phase_and_rollout_come_from_the_status(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "fraud")
    await api.client.post(base, headers=admin["headers"], json={"version_id": version["id"]})
    obj = api.gateway.objects[(MODEL_DEPLOYMENT.plural, f"mp-{org['slug']}", "fraud-staging")]
    obj["metadata"]["generation"] = 2
    obj["spec"]["candidate"] = {"modelVersionRef": {"name": "fraud-v2"}}
    measurement = {
        "at": NOW,
        "check": "errorRate",
        "value": 0.2,
        "threshold": 0.01,
        "passed": False,
        "samples": 400,
    }
    obj["status"] = {
        "observedGeneration": 2,
        "conditions": [
            _condition("Ready", "True", "RolloutComplete", 2),
            _condition("Reconciling", "True", "CanaryProgressing", 2),
        ],
        "stableVersion": version["resource_name"],
        "candidateVersion": "fraud-v2",
        "traffic": {"stable": 90, "candidate": 10, "mirror": 0},
        "currentStep": 1,
        "rolloutState": "Progressing",
        "analysis": {"measurements": [measurement], "failedIntervals": 1, "passedIntervals": 0},
        "url": "http://fraud-staging.mp-x.svc.cluster.local/v2/models/fraud-staging",
    }
    read = (await api.client.get(f"{base}/fraud-staging", headers=admin["headers"])).json()["data"]
    assert (read["phase"], read["reason"]) == ("Progressing", "CanaryProgressing")
    assert (read["stable_version"], read["candidate_version"]) == (
        version["resource_name"],
        "fraud-v2",
    )
    assert read["serving_version"] == version["resource_name"]
    assert read["traffic"] == {"stable": 90, "candidate": 10, "mirror": 0}
    assert (read["current_step"], read["rollout_state"]) == (1, "Progressing")
    assert read["analysis"]["measurements"] == [measurement]
    assert read["url"].startswith("http://fraud-staging.")
    assert [c["type"] for c in read["conditions"]] == ["Ready", "Reconciling"]
    rollback = {
        "reason": "AnalysisFailed",
        "message": "error rate 20%",
        "at": NOW,
        "rejectedVersion": "fraud-v2",
    }
    obj["status"]["conditions"] = [_condition("Ready", "True", "RolledBack", 2)]
    obj["status"]["rollback"] = rollback
    obj["status"]["rolloutState"] = "RolledBack"
    read = (await api.client.get(f"{base}/fraud-staging", headers=admin["headers"])).json()["data"]
    assert (read["phase"], read["reason"], read["rollback"]) == ("Ready", "RolledBack", rollback)
    obj["status"]["conditions"] = [
        _condition("Ready", "False", "ModelVersionNotFound", 2),
        _condition("Stalled", "True", "ModelVersionNotFound", 2),
    ]
    read = (await api.client.get(f"{base}/fraud-staging", headers=admin["headers"])).json()["data"]
    assert (read["phase"], read["reason"]) == ("Stalled", "ModelVersionNotFound")


async def test_deployments_are_listed_and_filtered_kubectl_made_ones_too(api: Api) -> None:
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    fraud = await _version(api, admin, org, "fraud")
    churn = await _version(api, admin, org, "churn")
    for body in (
        {"version_id": fraud["id"]},
        {"version_id": fraud["id"], "environment": "production"},
        {"version_id": churn["id"]},
    ):
        made = await api.client.post(base, headers=admin["headers"], json=body)
        assert made.status_code == 201, made.text
    by_kubectl = add_deployment(api, namespace, "hand-made")
    api.gateway.objects[(MODEL_DEPLOYMENT.plural, namespace, by_kubectl)]["spec"]["stable"] = {
        "modelVersionRef": {"name": churn["resource_name"]}
    }
    ready = api.gateway.objects[(MODEL_DEPLOYMENT.plural, namespace, "fraud-production")]
    ready["status"] = {"conditions": [_condition("Ready", "True", "RolloutComplete", 0)]}

    async def names(**params: Any) -> list[str]:
        response = await api.client.get(base, headers=admin["headers"], params=params)
        assert response.status_code == 200, response.text
        return [d["name"] for d in response.json()["data"]]

    assert await names() == ["churn-staging", "fraud-production", "fraud-staging", "hand-made"]
    assert await names(**{"filter[model]": "churn"}) == ["churn-staging", "hand-made"]
    assert await names(**{"filter[environment]": "production"}) == ["fraud-production"]
    assert await names(**{"filter[phase]": "Ready"}) == ["fraud-production"]
    assert await names(**{"filter[phase]": "Pending"}) == [
        "churn-staging",
        "fraud-staging",
        "hand-made",
    ]
    paged = await api.client.get(base, headers=admin["headers"], params={"limit": 2, "page": 2})
    assert [d["name"] for d in paged.json()["data"]] == ["fraud-staging", "hand-made"]
    assert paged.json()["meta"]["total"] == 4
    unknown = await api.client.get(base, headers=admin["headers"], params={"filter[status]": "x"})
    assert unknown.status_code == 400
    bad_phase = await api.client.get(base, headers=admin["headers"], params={"filter[phase]": "x"})
    assert bad_phase.status_code == 422


async def test_settings_and_environment_change_but_the_versions_stay(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "fraud")
    await api.client.post(
        base,
        headers=admin["headers"],
        json={
            "version_id": version["id"],
            "scaling": {"replicas": 3},
            "payload_logging": {"sampleRate": 1},
        },
    )
    url = f"{base}/fraud-staging"
    changed = await api.client.patch(
        url,
        headers=admin["headers"],
        json={"scaling": {"maxReplicas": 4}, "environment": "production"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["environment"] == "production"
    _, applied = api.gateway.applied[-1]
    assert applied["spec"]["scaling"] == {"maxReplicas": 4}
    assert applied["spec"]["payloadLogging"] == {"sampleRate": 1.0}
    assert applied["spec"]["stable"] == {"modelVersionRef": {"name": version["resource_name"]}}
    assert applied["metadata"]["labels"]["modelplane.io/model"] == "fraud"
    stable = await api.client.patch(
        url, headers=admin["headers"], json={"stable": {"modelVersionRef": {"name": "x"}}}
    )
    assert stable.status_code == 422
    missing = await api.client.patch(f"{base}/nothing", headers=admin["headers"], json={})
    assert missing.status_code == 404


async def test_a_patch_sends_the_resource_version_it_read(api: Api) -> None:
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    add_deployment(api, namespace, "hand-made")
    api.gateway.objects[(MODEL_DEPLOYMENT.plural, namespace, "hand-made")]["metadata"][
        "resourceVersion"
    ] = "41"
    changed = await api.client.patch(
        f"{base}/hand-made", headers=admin["headers"], json={"runtime": {"intraOpThreads": 4}}
    )
    assert changed.status_code == 200, changed.text
    _, applied = api.gateway.applied[-1]
    assert applied["metadata"]["resourceVersion"] == "41"
    assert "modelplane.io/model" not in applied["metadata"]["labels"]
    assert applied["spec"]["runtime"] == {"intraOpThreads": 4}


async def _patch_racing(api: Api, writes: list[dict[str, Any]]) -> httpx.Response:
    """PATCH a deployment read at resourceVersion 41 (generation 3) while `writes` land on it
    in between, one per apply that carries a resourceVersion."""
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    add_deployment(api, namespace, "hand-made")
    live = api.gateway.objects[(MODEL_DEPLOYMENT.plural, namespace, "hand-made")]
    live["metadata"].update(resourceVersion="41", generation=3)
    api.gateway.stale = writes
    return await api.client.patch(
        f"{base}/hand-made", headers=admin["headers"], json={"runtime": {"intraOpThreads": 4}}
    )


async def test_a_write_racing_a_status_update_is_sent_again_at_the_fresh_version(
    api: Api,
) -> None:
    changed = await _patch_racing(api, [{"resourceVersion": "42"}, {"resourceVersion": "43"}])
    assert changed.status_code == 200, changed.text
    sent = [body["metadata"].get("resourceVersion") for _, body in api.gateway.applied]
    assert sent[-3:] == ["41", "42", "43"]
    assert api.gateway.applied[-1][1]["spec"]["runtime"] == {"intraOpThreads": 4}


async def test_a_write_racing_a_spec_change_answers_409(api: Api) -> None:
    changed = await _patch_racing(api, [{"resourceVersion": "42", "generation": 4}])
    assert changed.status_code == 409, changed.text
    assert changed.json()["error"]["code"] == "cluster_rejected"
    # not sent again with a spec computed from the old one
    assert api.gateway.applied[-1][1]["metadata"]["resourceVersion"] == "41"


async def test_a_write_that_stays_stale_gives_up_with_409(api: Api) -> None:
    changed = await _patch_racing(api, [{"resourceVersion": str(42 + i)} for i in range(10)])
    assert changed.status_code == 409, changed.text
    sent = [body["metadata"].get("resourceVersion") for _, body in api.gateway.applied]
    assert sent[-4:] == ["41", "42", "43", "44"]  # the first try and three fresh ones
    assert len(api.gateway.stale) == 6


async def test_a_deployment_is_deleted(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "fraud")
    await api.client.post(base, headers=admin["headers"], json={"version_id": version["id"]})
    deleted = await api.client.delete(f"{base}/fraud-staging", headers=admin["headers"])
    assert deleted.status_code == 204
    assert (MODEL_DEPLOYMENT, "fraud-staging", f"mp-{org['slug']}") in api.gateway.deleted
    gone = await api.client.get(f"{base}/fraud-staging", headers=admin["headers"])
    assert gone.status_code == 404
    again = await api.client.delete(f"{base}/fraud-staging", headers=admin["headers"])
    assert again.status_code == 404


async def test_production_needs_the_admin_role_staging_a_developer(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "fraud")
    developer = await _member(api, admin, org, "developer")
    viewer = await _member(api, admin, org, "viewer")
    body = {"version_id": version["id"]}

    def denied(response: Any) -> bool:
        code = response.json()["error"]["code"] if response.status_code == 403 else None
        return code == "permission_denied"

    assert denied(await api.client.post(base, headers=viewer, json=body))
    assert denied(
        await api.client.post(base, headers=developer, json={**body, "environment": "production"})
    )
    staging = await api.client.post(base, headers=developer, json=body)
    assert staging.status_code == 201, staging.text
    assert (await api.client.get(f"{base}/fraud-staging", headers=viewer)).status_code == 200
    assert denied(await api.client.patch(f"{base}/fraud-staging", headers=viewer, json={}))
    assert denied(
        await api.client.patch(
            f"{base}/fraud-staging", headers=developer, json={"environment": "production"}
        )
    )
    tuned = await api.client.patch(
        f"{base}/fraud-staging", headers=developer, json={"scaling": {"replicas": 2}}
    )
    assert tuned.status_code == 200
    production = await api.client.post(
        base, headers=admin["headers"], json={**body, "environment": "production"}
    )
    assert production.status_code == 201
    url = f"{base}/fraud-production"
    assert denied(await api.client.patch(url, headers=developer, json={"scaling": {"replicas": 2}}))
    assert denied(await api.client.patch(url, headers=developer, json={"environment": "staging"}))
    assert denied(await api.client.delete(url, headers=developer))
    assert (
        await api.client.patch(url, headers=admin["headers"], json={"environment": "staging"})
    ).status_code == 200
    assert (await api.client.delete(f"{base}/fraud-staging", headers=developer)).status_code == 204
    assert denied(await api.client.delete(url, headers=viewer))


async def test_a_gitops_managed_organization_is_read_only_for_deployments(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "fraud")
    await api.client.post(base, headers=admin["headers"], json={"version_id": version["id"]})
    organization = api.gateway.objects[("organizations", None, org["slug"])]
    organization["spec"]["gitopsManaged"] = True
    organization["metadata"]["labels"]["argocd.argoproj.io/instance"] = "ml-platform"
    writes = [
        await api.client.post(
            base, headers=admin["headers"], json={"version_id": version["id"], "name": "other"}
        ),
        await api.client.patch(
            f"{base}/fraud-staging", headers=admin["headers"], json={"scaling": {"replicas": 2}}
        ),
        await api.client.delete(f"{base}/fraud-staging", headers=admin["headers"]),
    ]
    for response in writes:
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "gitops_managed"
    assert (
        await api.client.get(f"{base}/fraud-staging", headers=admin["headers"])
    ).status_code == 200


async def test_the_events_of_a_deployment_are_read_from_the_cluster(api: Api) -> None:
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    add_deployment(api, namespace, "serving")
    api.gateway.object_events[(namespace, "ModelDeployment", "serving")] = [
        {
            "type": "Normal",
            "reason": "CanaryStep",
            "message": "weight 10",
            "count": 1,
            "last_timestamp": NOW,
        },
        {
            "type": "Warning",
            "reason": "RolledBack",
            "message": "error rate",
            "count": 2,
            "event_time": NOW,
        },
    ]
    events = await api.client.get(f"{base}/serving/events", headers=admin["headers"])
    assert events.status_code == 200, events.text
    assert [(e["type"], e["reason"], e["count"]) for e in events.json()["data"]] == [
        ("Normal", "CanaryStep", 1),
        ("Warning", "RolledBack", 2),
    ]
    missing = await api.client.get(f"{base}/nothing/events", headers=admin["headers"])
    assert missing.status_code == 404


async def test_an_unreachable_cluster_answers_503(api: Api) -> None:
    admin, org, base = await _org(api)
    version = await _version(api, admin, org, "fraud")
    api.gateway.fail_with = ClusterUnavailable("Kubernetes API unreachable")
    try:
        responses = [
            await api.client.post(
                base, headers=admin["headers"], json={"version_id": version["id"]}
            ),
            await api.client.get(base, headers=admin["headers"]),
            await api.client.get(f"{base}/fraud-staging", headers=admin["headers"]),
            await api.client.patch(f"{base}/fraud-staging", headers=admin["headers"], json={}),
            await api.client.delete(f"{base}/fraud-staging", headers=admin["headers"]),
        ]
    finally:
        api.gateway.fail_with = None
    assert [r.status_code for r in responses] == [503] * 5
    assert not [k for k in api.gateway.objects if k[0] == MODEL_DEPLOYMENT.plural]
