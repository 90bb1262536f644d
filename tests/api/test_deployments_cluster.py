"""Deployments and rollouts through the facade on the real platform: the facade (its real
cluster gateway) + the operator (core and rollout handlers, on kwok nodes that make serving pods
Ready) on the real API server + PostgreSQL, Redis and MinIO. A version uploaded through the API
is deployed, canaried, promoted by hand past an indefinite pause and rolled back, and everything
the operator did is visible through the API and kept in the history."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelplane_api.cluster import KubernetesClusterGateway
from tests.operator.rollout.cluster_support import rollout_env, run_rollout_operator
from tests.operator.support import Kubectl, bind_role_groups, install_crds

from .conftest import Api, ApiFactory

pytestmark = pytest.mark.integration
WAIT_S = 120.0


@dataclass
class World:
    api: Api
    admin: dict[str, Any]
    org: dict[str, Any]
    model: dict[str, Any]
    kubectl: Kubectl

    @property
    def deployments(self) -> str:
        return f"/api/v1/organizations/{self.org['id']}/deployments"

    async def upload(self) -> dict[str, Any]:
        """A new version of the model, once the operator has verified it."""
        response = await self.api.upload_version(self.admin, self.org["id"], self.model["id"])
        assert response.status_code == 201, response.text
        version: dict[str, Any] = response.json()["data"]
        url = f"/api/v1/organizations/{self.org['id']}/models/{self.model['id']}/versions"
        await self.until(f"{url}/{version['id']}", lambda d: d["state"] == "ready", "verified")
        return version

    async def until(
        self, url: str, done: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        """GET `url` until `done` holds for its data (within WAIT_S)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            response = await self.api.client.get(url, headers=self.admin["headers"])
            assert response.status_code == 200, response.text
            data: dict[str, Any] = response.json()["data"]
            if done(data):
                return data
            assert time.monotonic() < deadline, f"{what}: not within {WAIT_S} s: {data}"
            await asyncio.sleep(0.5)


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> Kubectl:
    install_crds(kubectl)
    return kubectl


@pytest.fixture
async def world(
    crds: Kubectl, make_api: ApiFactory, kubeconfig: Path, s3: Any
) -> AsyncIterator[World]:
    """A facade on the real cluster, an organization and a model through it, and the rollout
    operator on that organization's namespace (made here: a namespace-scoped operator does not
    serve the cluster-scoped Organization)."""
    slug = f"dep-{uuid.uuid4().hex[:8]}"
    namespace = f"mp-{slug}"
    crds("create", "namespace", namespace)
    bind_role_groups(crds, slug)  # the facade writes as its callers (impersonated)
    with run_rollout_operator(crds, rollout_env(kubeconfig, s3), namespace) as runner:
        api: Api = await make_api(cluster=KubernetesClusterGateway.from_kubeconfig(str(kubeconfig)))
        admin = await api.register("ds")
        response = await api.client.post(
            "/api/v1/organizations",
            headers=admin["headers"],
            json={"slug": slug, "display_name": "Deployments"},
        )
        assert response.status_code == 201, response.text
        org = response.json()["data"]
        model = await api.create_model(admin, org["id"], "fraud")
        try:
            yield World(api, admin, org, model, crds)
        finally:
            crds("delete", "modeldeployments", "--all", "-n", namespace, "--wait=true",
                 "--timeout=60s", check=False)  # fmt: skip
            crds("delete", "organization", slug, "--ignore-not-found", "--wait=false", check=False)
            crds("delete", "namespace", namespace, "--wait=false", check=False)
    assert "Traceback" not in runner.output, runner.output[-3000:]


async def test_deploy_canary_promote_by_hand_and_roll_back_through_the_api(world: World) -> None:
    v1, v2, v3 = [await world.upload() for _ in range(3)]
    headers = world.admin["headers"]
    created = await world.api.client.post(
        world.deployments, headers=headers, json={"version_id": v1["id"]}
    )
    assert created.status_code == 201, created.text
    url = f"{world.deployments}/fraud-staging"
    ready = await world.until(url, lambda d: d["phase"] == "Ready", "deployed")
    assert (ready["serving_version"], ready["reason"]) == (v1["resource_name"], "RolloutComplete")
    assert ready["url"] == f"http://fraud-staging.mp-{world.org['slug']}.svc.cluster.local"

    strategy = {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}, {"setWeight": 100}]}}
    started = await world.api.client.post(
        f"{url}/rollouts", headers=headers, json={"version_id": v2["id"], "strategy": strategy}
    )
    assert started.status_code == 201, started.text
    paused = await world.until(url, lambda d: d["reason"] == "CanaryPaused", "paused at step 2")
    assert (paused["current_step"], paused["candidate_version"]) == (1, v2["resource_name"])
    assert paused["traffic"]["candidate"] > 0
    promoted = await world.api.client.post(
        f"{url}/promote", headers=headers, json={"reason": "looked at the dashboards"}
    )
    assert promoted.status_code == 200, promoted.text
    done = await world.until(
        url, lambda d: d["serving_version"] == v2["resource_name"] and d["phase"] == "Ready",
        "promoted",
    )  # fmt: skip
    assert done["traffic"] == {"stable": 100, "candidate": 0, "mirror": 0}

    started = await world.api.client.post(
        f"{url}/rollouts",
        headers=headers,
        json={"version_id": v3["id"], "strategy": strategy},
    )
    assert started.status_code == 201, started.text
    spec = started.json()["data"]["spec"]  # the facade tidied the spec after the promotion
    assert spec["stable"] == {"modelVersionRef": {"name": v2["resource_name"]}}
    await world.until(url, lambda d: d["reason"] == "CanaryPaused", "v3 paused at step 2")
    rolled = await world.api.client.post(
        f"{url}/rollback", headers=headers, json={"reason": "p99 doubled"}
    )
    assert rolled.status_code == 200, rolled.text
    back = await world.until(
        url, lambda d: d["rollout_state"] == "Idle" and d["phase"] == "Ready", "rolled back"
    )
    assert (back["serving_version"], back["candidate_version"]) == (v2["resource_name"], None)
    assert back["traffic"]["stable"] == 100

    history = (await world.api.client.get(f"{url}/rollouts", headers=headers)).json()["data"]
    assert [(h["to_version"], h["outcome"]) for h in history] == [
        (v3["resource_name"], "rolled_back"),
        (v2["resource_name"], "promoted"),
    ]
    assert history[0]["reason"] == "rolled back by hand: p99 doubled"
    assert history[1]["reason"] == "promoted by hand: looked at the dashboards"
    events = (await world.api.client.get(f"{url}/events", headers=headers)).json()["data"]
    reasons = {e["reason"] for e in events}
    assert {"RolloutStarted", "Promoted", "RolloutAborted"} <= reasons


async def test_promote_to_production_creates_a_production_deployment_that_becomes_ready(
    world: World,
) -> None:
    v1 = await world.upload()
    headers = world.admin["headers"]
    created = await world.api.client.post(
        world.deployments, headers=headers, json={"version_id": v1["id"]}
    )
    assert created.status_code == 201, created.text
    developer = await world.api.register("dev")
    await world.api.add_member(world.admin, world.org["id"], developer, "developer")
    staging = f"{world.deployments}/fraud-staging"
    denied = await world.api.client.post(
        f"{staging}/promote-to-production", headers=developer["headers"]
    )
    assert denied.status_code == 403
    promoted = await world.api.client.post(f"{staging}/promote-to-production", headers=headers)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["data"]["action"] == "created"
    production = await world.until(
        f"{world.deployments}/fraud-production", lambda d: d["phase"] == "Ready", "production"
    )
    assert (production["environment"], production["serving_version"]) == (
        "production",
        v1["resource_name"],
    )


async def test_a_rollout_paused_through_the_api_holds_until_resumed(world: World) -> None:
    v1, v2 = [await world.upload() for _ in range(2)]
    headers = world.admin["headers"]
    created = await world.api.client.post(
        world.deployments, headers=headers, json={"version_id": v1["id"]}
    )
    assert created.status_code == 201, created.text
    url = f"{world.deployments}/fraud-staging"
    await world.until(url, lambda d: d["phase"] == "Ready", "deployed")
    strategy = {"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "2s"}},
                                     {"setWeight": 100}]}}  # fmt: skip
    started = await world.api.client.post(
        f"{url}/rollouts",
        headers=headers,
        json={"version_id": v2["id"], "strategy": strategy, "preset": "all-at-once"},
    )
    assert started.status_code == 201, started.text
    paused = await world.api.client.post(f"{url}/pause", headers=headers)
    assert paused.status_code == 200, paused.text
    held = await world.until(url, lambda d: "paused by hand" in (d["message"] or ""), "held")
    assert held["serving_version"] == v1["resource_name"]
    await asyncio.sleep(6)  # far longer than the 2 s pause step: nothing moves
    still = (await world.api.client.get(url, headers=headers)).json()["data"]
    assert (still["serving_version"], still["reason"]) == (v1["resource_name"], "CanaryPaused")
    assert still["current_step"] == held["current_step"]
    resumed = await world.api.client.post(f"{url}/resume", headers=headers)
    assert resumed.status_code == 200, resumed.text
    done = await world.until(
        url, lambda d: d["serving_version"] == v2["resource_name"] and d["phase"] == "Ready",
        "promoted after resume",
    )  # fmt: skip
    assert done["traffic"]["stable"] == 100
