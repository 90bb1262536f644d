"""Drift monitors through the facade: DriftMonitors applied into the organization's namespace
(the cluster faked at our gateway), results read from their status."""

from __future__ import annotations

from typing import Any

from modelplane_api.cluster import DRIFT_MONITOR

from .catalog import add_deployment
from .conftest import Api


async def _org(api: Api) -> tuple[dict[str, Any], dict[str, Any], str]:
    admin = await api.register("ds")
    org = await api.create_org(admin)
    return admin, org, f"/api/v1/organizations/{org['id']}/monitors"


async def test_a_monitor_is_applied_listed_read_with_results_and_deleted(api: Api) -> None:
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    body = {
        "name": "fraud-drift",
        "spec": {
            "deploymentRef": {"name": "fraud-detector"},
            "schedule": "*/5 * * * *",
            "window": {"size": "30m"},
            "features": {"defaultTest": "ks", "alpha": 0.01},
        },
    }
    missing = await api.client.post(base, headers=admin["headers"], json=body)
    assert missing.status_code == 404
    assert "deployment 'fraud-detector' not found" in missing.json()["error"]["message"]
    add_deployment(api, namespace, "fraud-detector")
    created = await api.client.post(base, headers=admin["headers"], json=body)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["state"] == "pending"
    applied = api.gateway.objects[(DRIFT_MONITOR.plural, namespace, "fraud-drift")]
    assert applied["kind"] == "DriftMonitor"
    assert applied["spec"]["deploymentRef"] == {"name": "fraud-detector"}
    assert applied["spec"]["schedule"] == "*/5 * * * *"
    assert applied["spec"]["features"]["defaultTest"] == "ks"
    again = await api.client.post(base, headers=admin["headers"], json=body)
    assert again.status_code == 409
    evaluation = {
        "windowStart": "2026-12-04T03:00:00Z",
        "windowEnd": "2026-12-04T03:30:00Z",
        "samples": 812,
        "features": [
            {"name": "amount", "test": "ks", "statistic": 0.31, "pValue": 0.0001, "drifted": True}
        ],
        "dataset": {"driftedShare": 0.25, "drifted": False},
    }
    accuracy = {"metric": "accuracy", "value": 0.9, "min": 0.8, "passed": True}
    quality = {"modelVersion": "fraud-detector-1", "labelledRows": 300, "degraded": False,
               "metrics": [accuracy]}  # fmt: skip
    candidate = {"modelVersion": "fraud-detector-2", "quality": {**quality, "degraded": True}}
    applied["status"] = {
        "conditions": [{"type": "Ready", "status": "True", "reason": "Evaluated", "message": "ok"}],
        "lastEvaluation": evaluation,
        "lastQuality": quality,
        "candidateEvaluation": candidate,
    }
    read = (await api.client.get(f"{base}/fraud-drift", headers=admin["headers"])).json()["data"]
    assert (read["state"], read["reason"], read["deployment"]) == (
        "ready",
        "Evaluated",
        "fraud-detector",
    )
    assert read["last_evaluation"] == evaluation
    assert (read["last_quality"], read["candidate_evaluation"]) == (quality, candidate)
    listed = (await api.client.get(base, headers=admin["headers"])).json()["data"]
    assert [m["name"] for m in listed] == ["fraud-drift"]
    deleted = await api.client.delete(f"{base}/fraud-drift", headers=admin["headers"])
    assert deleted.status_code == 204
    assert (DRIFT_MONITOR, "fraud-drift", namespace) in api.gateway.deleted
    gone = await api.client.get(f"{base}/fraud-drift", headers=admin["headers"])
    assert gone.status_code == 404


async def test_an_invalid_spec_is_refused_with_the_field(api: Api) -> None:
    admin, _, base = await _org(api)
    response = await api.client.post(
        base,
        headers=admin["headers"],
        json={"name": "bad", "spec": {"deploymentRef": {"name": "x"}, "schedule": "often"}},
    )
    assert response.status_code == 422
    assert ["body", "spec", "schedule"] in [d["loc"] for d in response.json()["error"]["details"]]


async def test_the_history_alerts_and_last_failure_pass_through_from_the_status(api: Api) -> None:
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    add_deployment(api, namespace, "fraud-detector")
    body = {"name": "fraud-drift", "spec": {"deploymentRef": {"name": "fraud-detector"}}}
    created = (await api.client.post(base, headers=admin["headers"], json=body)).json()["data"]
    assert (created["evaluated_version"], created["recent_evaluations"]) == (None, [])
    assert (created["last_failure"], created["alerts"]) == (None, [])
    applied = api.gateway.objects[(DRIFT_MONITOR.plural, namespace, "fraud-drift")]
    applied["status"] = {
        "evaluatedVersion": "fraud-detector-v2",
        "recentEvaluations": [
            {
                "windowEnd": "2026-12-04T03:30:00Z",
                "modelVersion": "fraud-detector-v2",
                "samples": 812,
                "share": 0.75,
                "drifted": True,
            },
            {
                "windowEnd": "2026-12-04T03:30:00Z",
                "modelVersion": "fraud-detector-v3",
                "role": "candidate",
                "samples": 95,
                "share": 1.0,
                "drifted": True,
            },
            {
                "windowEnd": "2026-12-04T03:15:00Z",
                "modelVersion": "fraud-detector-v2",
                "samples": 12,
                "drifted": False,
                "insufficientData": True,
            },
        ],
        "lastFailure": {
            "time": "2026-12-04T03:45:00Z",
            "reason": "DataUnavailable",
            "message": "the payload log bucket did not answer",
        },
        "alerts": [
            {
                "sink": 0,
                "type": "webhook",
                "key": "fraud-drift/dataset",
                "state": "firing",
                "outcome": "Failed",
                "reason": "HTTPError",
                "message": "503 from the receiver",
                "attempts": 3,
                "time": "2026-12-04T03:31:00Z",
            }
        ],
    }
    read = (await api.client.get(f"{base}/fraud-drift", headers=admin["headers"])).json()["data"]
    assert read["evaluated_version"] == "fraud-detector-v2"
    assert read["recent_evaluations"] == [
        {
            "window_end": "2026-12-04T03:30:00Z",
            "model_version": "fraud-detector-v2",
            "role": "stable",  # lines written before the candidate's existed read as stable
            "samples": 812,
            "share": 0.75,
            "drifted": True,
            "insufficient_data": False,
        },
        {
            "window_end": "2026-12-04T03:30:00Z",
            "model_version": "fraud-detector-v3",
            "role": "candidate",
            "samples": 95,
            "share": 1.0,
            "drifted": True,
            "insufficient_data": False,
        },
        {
            "window_end": "2026-12-04T03:15:00Z",
            "model_version": "fraud-detector-v2",
            "role": "stable",
            "samples": 12,
            "share": None,
            "drifted": False,
            "insufficient_data": True,
        },
    ]
    assert read["last_failure"] == {
        "time": "2026-12-04T03:45:00Z",
        "reason": "DataUnavailable",
        "message": "the payload log bucket did not answer",
    }
    assert read["alerts"] == [
        {
            "sink": 0,
            "type": "webhook",
            "alert": "drift",
            "state": "firing",
            "outcome": "Failed",
            "reason": "HTTPError",
            "message": "503 from the receiver",
            "attempts": 3,
            "time": "2026-12-04T03:31:00Z",
        }
    ]


async def test_a_monitors_spec_is_replaced_whole_and_its_results_stay(api: Api) -> None:
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    add_deployment(api, namespace, "fraud-detector")
    sink = {"alertmanager": {"url": "http://alertmanager.monitoring:9093"}}
    spec = {"deploymentRef": {"name": "fraud-detector"}, "schedule": "0 * * * *", "alerts": [sink]}
    created = await api.client.post(
        base, headers=admin["headers"], json={"name": "fraud-drift", "spec": spec}
    )
    assert created.status_code == 201, created.text
    live = api.gateway.objects[(DRIFT_MONITOR.plural, namespace, "fraud-drift")]
    window = {"windowStart": "2026-12-04T03:00:00Z", "windowEnd": "2026-12-04T04:00:00Z"}
    live["status"] = {"lastEvaluation": {**window, "samples": 812}}
    changed = {"deploymentRef": {"name": "fraud-detector"}, "schedule": "*/10 * * * *",
               "window": {"size": "10m"}}  # fmt: skip
    updated = await api.client.put(
        f"{base}/fraud-drift", headers=admin["headers"], json={"spec": changed}
    )
    assert updated.status_code == 200, updated.text
    live = api.gateway.objects[(DRIFT_MONITOR.plural, namespace, "fraud-drift")]
    assert live["spec"]["schedule"] == "*/10 * * * *"
    assert live["spec"]["window"]["size"] == "10m"
    assert live["spec"].get("alerts", []) == []  # left out: removed, as kubectl apply would
    assert live["status"]["lastEvaluation"]["samples"] == 812
    assert updated.json()["data"]["last_evaluation"]["samples"] == 812
    events = await api.client.get(
        "/api/v1/audit-events",
        headers=admin["headers"],
        params={"organization_id": org["id"], "filter[action]": "monitor.update"},
    )
    [event] = events.json()["data"]
    assert event["before"]["spec"]["alerts"] == [{**sink, "severity": "warning"}]
    assert event["after"]["spec"]["schedule"] == "*/10 * * * *"


async def test_updating_an_unknown_monitor_or_onto_an_unknown_deployment_is_404(api: Api) -> None:
    admin, org, base = await _org(api)
    add_deployment(api, f"mp-{org['slug']}", "fraud-detector")
    spec = {"deploymentRef": {"name": "fraud-detector"}}
    nothing = await api.client.put(f"{base}/nothing", headers=admin["headers"], json={"spec": spec})
    assert nothing.status_code == 404
    created = await api.client.post(
        base, headers=admin["headers"], json={"name": "fraud-drift", "spec": spec}
    )
    assert created.status_code == 201, created.text
    elsewhere = {"deploymentRef": {"name": "gone"}}
    moved = await api.client.put(
        f"{base}/fraud-drift", headers=admin["headers"], json={"spec": elsewhere}
    )
    assert moved.status_code == 404
    assert "deployment 'gone' not found" in moved.json()["error"]["message"]
    invalid = await api.client.put(
        f"{base}/fraud-drift", headers=admin["headers"], json={"spec": {"schedule": "x"}}
    )
    assert invalid.status_code == 422


async def _monitor(api: Api) -> tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]:
    """An organization with `fraud-drift` (generation 1) on `fraud-detector`, as its admin read
    it."""
    admin, org, base = await _org(api)
    namespace = f"mp-{org['slug']}"
    add_deployment(api, namespace, "fraud-detector")
    spec = {"deploymentRef": {"name": "fraud-detector"}, "schedule": "0 * * * *"}
    created = await api.client.post(
        base, headers=admin["headers"], json={"name": "fraud-drift", "spec": spec}
    )
    assert created.status_code == 201, created.text
    api.gateway.objects[(DRIFT_MONITOR.plural, namespace, "fraud-drift")]["metadata"][
        "generation"
    ] = 1  # as the API server sets it on creation
    read = await api.client.get(f"{base}/fraud-drift", headers=admin["headers"])
    return admin, org, base, read.json()["data"]


async def _update_events(api: Api, admin: dict[str, Any], org: dict[str, Any]) -> list[Any]:
    events = await api.client.get(
        "/api/v1/audit-events",
        headers=admin["headers"],
        params={"organization_id": org["id"], "filter[action]": "monitor.update"},
    )
    data: list[Any] = events.json()["data"]
    return data


async def test_an_edit_made_over_a_spec_changed_since_it_was_read_is_refused(api: Api) -> None:
    admin, org, base, read = await _monitor(api)
    assert read["generation"] == 1
    url = f"{base}/fraud-drift"
    theirs = {"deploymentRef": {"name": "fraud-detector"}, "schedule": "*/5 * * * *"}
    first = await api.client.put(
        url, headers=admin["headers"], json={"spec": theirs, "generation": 1}
    )
    assert first.status_code == 200, first.text
    assert first.json()["data"]["generation"] == 2
    applies = len(api.gateway.applied)
    mine = {"deploymentRef": {"name": "fraud-detector"}, "schedule": "*/30 * * * *"}
    stale = await api.client.put(
        url, headers=admin["headers"], json={"spec": mine, "generation": 1}
    )
    assert stale.status_code == 409, stale.text
    error = stale.json()["error"]
    assert error["code"] == "conflict"
    assert "changed by someone else" in error["message"]
    assert error["details"] == {
        "reason": "MonitorChanged",
        "read_generation": 1,
        "current_generation": 2,
    }
    assert len(api.gateway.applied) == applies  # nothing written
    live = api.gateway.objects[(DRIFT_MONITOR.plural, f"mp-{org['slug']}", "fraud-drift")]
    assert live["spec"]["schedule"] == "*/5 * * * *"
    events = await _update_events(api, admin, org)
    assert [(e["outcome"], e["status_code"]) for e in events] == [
        ("failure", 409),
        ("success", 200),
    ]
    assert events[0]["after"] is None
    assert events[1]["after"]["spec"]["schedule"] == "*/5 * * * *"


async def test_results_written_since_the_read_do_not_refuse_an_edit(api: Api) -> None:
    admin, org, base, read = await _monitor(api)
    live = api.gateway.objects[(DRIFT_MONITOR.plural, f"mp-{org['slug']}", "fraud-drift")]
    live["status"] = {"lastEvaluation": {"samples": 812}}  # the status moves, not the generation
    live["metadata"]["resourceVersion"] = "41"
    api.gateway.stale = [{"resourceVersion": "42"}]  # and once more between read and write
    changed = {"deploymentRef": {"name": "fraud-detector"}, "schedule": "*/10 * * * *"}
    updated = await api.client.put(
        f"{base}/fraud-drift",
        headers=admin["headers"],
        json={"spec": changed, "generation": read["generation"]},
    )
    assert updated.status_code == 200, updated.text
    sent = [body["metadata"].get("resourceVersion") for _, body in api.gateway.applied]
    assert sent[-2:] == ["41", "42"]
    assert updated.json()["data"]["last_evaluation"] == {"samples": 812}


async def test_a_spec_changed_between_the_read_and_the_write_is_not_overwritten(
    api: Api,
) -> None:
    admin, org, base, _ = await _monitor(api)
    live = api.gateway.objects[(DRIFT_MONITOR.plural, f"mp-{org['slug']}", "fraud-drift")]
    live["metadata"]["resourceVersion"] = "41"
    api.gateway.stale = [{"resourceVersion": "42", "generation": 2}]
    changed = {"deploymentRef": {"name": "fraud-detector"}, "schedule": "*/10 * * * *"}
    # no generation given: the facade's own read is the one that must still hold
    updated = await api.client.put(
        f"{base}/fraud-drift", headers=admin["headers"], json={"spec": changed}
    )
    assert updated.status_code == 409, updated.text
    assert updated.json()["error"]["details"]["reason"] == "MonitorChanged"
    assert live["spec"]["schedule"] == "0 * * * *"
    [event] = await _update_events(api, admin, org)
    assert (event["outcome"], event["status_code"]) == ("failure", 409)
