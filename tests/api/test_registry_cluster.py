"""The registry on the real platform: the facade (its real cluster gateway) + the operator on the
real API server + PostgreSQL + Redis + MinIO. A data scientist's upload becomes a verified
ModelVersion visible through the API; a signature mismatch and a tampered artifact end Stalled
with the operator's reason in the API; an outage of the cluster answers 202 and loses nothing,
yet a queued upload of a member removed meanwhile never reaches the cluster; the API server's
audit log names the person behind an upload; an oversized upload is refused with memory bounded
(measured)."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from modelplane_api.cluster import KubernetesClusterGateway
from modelplane_api.outbox.models import OutboxEntry
from modelplane_api.outbox.worker import drain_once
from modelplane_api.registry.reconcile import reconcile_once
from modelplane_cli.local.platform import LocalPlatform
from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import (
    Kubectl,
    bind_role_groups,
    install_crds,
    operator_env,
    run_operator,
)

from .conftest import ARTIFACT_BUCKET, Api, ApiFactory

pytestmark = pytest.mark.integration


@dataclass
class World:
    api: Api
    admin: dict[str, Any]
    org: dict[str, Any]
    kubectl: Kubectl

    @property
    def namespace(self) -> str:
        return f"mp-{self.org['slug']}"

    def url(self, model: dict[str, Any], version: dict[str, Any] | None = None) -> str:
        base = f"/api/v1/organizations/{self.org['id']}/models/{model['id']}/versions"
        return f"{base}/{version['id']}" if version else base


@pytest.fixture(scope="module")
def crds(kubectl: Kubectl) -> Kubectl:
    install_crds(kubectl)
    return kubectl


@pytest.fixture
async def world(
    crds: Kubectl, make_api: ApiFactory, kubeconfig: Path, s3: Any
) -> AsyncIterator[World]:
    """A facade on the real cluster, a new organization through it, and the operator (verifying
    from MinIO) watching that organization's namespace. The namespace is made here: a
    namespace-scoped operator does not serve the cluster-scoped Organization (provisioning is
    tested in tests/integration/test_operator_organization.py)."""
    slug = f"reg-{uuid.uuid4().hex[:8]}"
    crds("create", "namespace", f"mp-{slug}")
    bind_role_groups(crds, slug)  # the facade writes as its callers (impersonated)
    env = operator_env(kubeconfig, s3)
    with run_operator(crds, env, namespace=f"mp-{slug}") as runner:
        api: Api = await make_api(cluster=KubernetesClusterGateway.from_kubeconfig(str(kubeconfig)))
        admin = await api.register("ds")
        response = await api.client.post(
            "/api/v1/organizations",
            headers=admin["headers"],
            json={"slug": slug, "display_name": "Registry"},
        )
        assert response.status_code == 201, response.text
        try:
            yield World(api, admin, response.json()["data"], crds)
        finally:  # leave nothing for the cluster-wide operators of later tests to chase
            crds("delete", "organization", slug, "--ignore-not-found", "--wait=false", check=False)
            crds("delete", "namespace", f"mp-{slug}", "--wait=false", check=False)
    assert "Traceback" not in runner.output, runner.output[-3000:]


async def settled(world: World, url: str, states: set[str]) -> dict[str, Any]:
    """The version once its state is one of `states` (or whatever it is after 90 s)."""
    deadline = time.monotonic() + 90
    while True:
        response = await world.api.client.get(url, headers=world.admin["headers"])
        assert response.status_code == 200, response.text
        detail: dict[str, Any] = response.json()["data"]
        if detail["state"] in states or time.monotonic() > deadline:
            return detail
        await asyncio.sleep(0.5)


async def new_model(world: World) -> dict[str, Any]:
    return await world.api.create_model(world.admin, world.org["id"])


async def test_an_upload_becomes_a_ready_model_version(world: World) -> None:
    model = await new_model(world)
    response = await world.api.upload_version(world.admin, world.org["id"], model["id"])
    assert response.status_code == 201, response.text
    version = response.json()["data"]
    detail = await settled(world, world.url(model, version), {"ready", "stalled"})
    assert (detail["state"], detail["reason"]) == ("ready", "Verified"), detail
    assert "Verified" in {e["reason"] for e in detail["events"]}
    live = json.loads(
        world.kubectl(
            "get", "mv", version["resource_name"], "-n", world.namespace, "-o", "json"
        ).stdout
    )
    assert live["status"]["verifiedSha256"] == version["sha256"]
    listed = await world.api.client.get(world.url(model), headers=world.admin["headers"])
    assert [v["state"] for v in listed.json()["data"]] == ["ready"]


async def test_the_api_servers_audit_log_names_the_person_behind_an_upload(
    world: World, platform: LocalPlatform
) -> None:
    plane = platform.control_plane
    assert plane is not None
    model = await new_model(world)
    developer = await world.api.register("dev")
    await world.api.add_member(world.admin, world.org["id"], developer, "developer")
    response = await world.api.upload_version(developer, world.org["id"], model["id"])
    assert response.status_code == 201, response.text
    name = response.json()["data"]["resource_name"]

    # The API server writes an event once its response is complete: after the facade has it.
    deadline = time.monotonic() + 30
    while not (writes := _audited_writes(plane.audit_log, "modelversions", name)):
        assert time.monotonic() < deadline, f"no audit event for the facade's apply of {name}"
        await asyncio.sleep(0.5)
    person = writes[0]["impersonatedUser"]
    assert person["username"] == f"modelplane:user:{developer['id']}"
    assert f"modelplane:org:{world.org['slug']}:developer" in person["groups"]


def _audited_writes(log: Path, resource: str, name: str) -> list[dict[str, Any]]:
    """The API server's audit events of server-side applies (patches) of one object."""
    return [
        event
        for line in log.read_text().splitlines()
        if (event := json.loads(line))["verb"] == "patch"
        and event.get("objectRef", {}).get("resource") == resource
        and event["objectRef"].get("name") == name
    ]


async def test_a_signature_mismatch_ends_stalled_with_the_reason(world: World) -> None:
    model = await new_model(world)
    signature = signature_of(linear_model(4))
    signature["inputs"][0]["shape"] = [-1, 5]
    response = await world.api.upload_version(
        world.admin, world.org["id"], model["id"], metadata={"signature": signature}
    )
    assert response.status_code == 201, response.text
    detail = await settled(world, world.url(model, response.json()["data"]), {"ready", "stalled"})
    assert (detail["state"], detail["reason"]) == ("stalled", "SignatureMismatch"), detail
    assert "has shape [-1, 4] in the model, declared [-1, 5]" in detail["message"]
    assert any(e["type"] == "Warning" for e in detail["events"])


async def test_a_tampered_artifact_is_caught_when_the_version_is_verified_again(
    world: World, s3: Any
) -> None:
    """Someone with bucket access swaps the file; the ModelVersion is deleted behind the facade's
    back; the reconciliation re-applies it and the operator refuses the swapped bytes."""
    model = await new_model(world)
    version = (await world.api.upload_version(world.admin, world.org["id"], model["id"])).json()[
        "data"
    ]
    url = world.url(model, version)
    assert (await settled(world, url, {"ready", "stalled"}))["state"] == "ready"
    bucket, key = version["artifact_uri"].removeprefix("s3://").split("/", 1)
    assert bucket == ARTIFACT_BUCKET
    s3.client().put_object(Bucket=bucket, Key=key, Body=model_bytes(linear_model(4, seed=9))[0])
    world.kubectl("delete", "mv", version["resource_name"], "-n", world.namespace)
    assert (await settled(world, url, {"missing"}))["state"] == "missing"
    assert await reconcile_once(world.api.app.state.ctx) >= 1
    detail = await settled(world, url, {"stalled"})
    assert (detail["state"], detail["reason"]) == ("stalled", "DigestMismatch"), detail
    assert version["sha256"] in detail["message"]


async def test_an_outage_answers_202_and_the_version_arrives_when_the_cluster_is_back(
    world: World, tmp_path: Path
) -> None:
    model = await new_model(world)
    ctx = world.api.app.state.ctx
    reachable = ctx.gateway
    ctx.gateway = _unreachable(tmp_path)
    response = await world.api.upload_version(world.admin, world.org["id"], model["id"])
    assert response.status_code == 202, response.text
    version = response.json()["data"]
    assert version["state"] == "pending"
    assert await drain_once(ctx) == 0
    ctx.gateway = reachable  # the cluster is back
    await _retry_now(world, version)
    assert await drain_once(ctx) >= 1
    detail = await settled(world, world.url(model, version), {"ready", "stalled"})
    assert (detail["state"], detail["sha256"]) == ("ready", version["sha256"]), detail


async def test_a_removed_members_queued_upload_never_reaches_the_cluster(
    world: World, tmp_path: Path
) -> None:
    model = await new_model(world)
    developer = await world.api.register("dev")
    await world.api.add_member(world.admin, world.org["id"], developer, "developer")
    ctx = world.api.app.state.ctx
    reachable = ctx.gateway
    ctx.gateway = _unreachable(tmp_path)
    queued = await world.api.upload_version(developer, world.org["id"], model["id"])
    assert queued.status_code == 202, queued.text
    version = queued.json()["data"]
    removed = await world.api.client.delete(
        f"/api/v1/organizations/{world.org['id']}/members/{developer['id']}",
        headers=world.admin["headers"],
    )
    assert removed.status_code == 204, removed.text
    ctx.gateway = reachable  # the cluster is back, the member is gone
    await _retry_now(world, version)
    await drain_once(ctx)
    detail = await settled(world, world.url(model, version), {"pending"})
    assert "no longer a member" in detail["message"], detail
    live = world.kubectl(
        "get", "mv", version["resource_name"], "-n", world.namespace, "--ignore-not-found"
    )
    assert live.stdout == ""


def _unreachable(tmp_path: Path) -> KubernetesClusterGateway:
    """A gateway to an API server that is not there: the cluster is away."""
    dead = tmp_path / "kubeconfig"
    dead.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "dead",
                "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
                "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )
    return KubernetesClusterGateway.from_kubeconfig(str(dead))


async def _retry_now(world: World, version: dict[str, Any]) -> None:
    """Make the version's outbox entry due now rather than after its backoff."""
    ctx = world.api.app.state.ctx
    async with ctx.sessions() as session:
        await session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.name == version["resource_name"])
            .values(next_attempt_at=ctx.clock())
        )
        await session.commit()


async def test_a_200_mib_upload_is_refused_with_memory_bounded(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Streamed without Content-Length: the facade counts the bytes and stops at the limit; what
    it allocated meanwhile is measured with tracemalloc (the app runs in this process)."""
    model = await new_model(world)
    chunk = b"\0" * (1024 * 1024)

    async def body() -> AsyncIterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\n\r\n'
        for _ in range(200):
            yield chunk

    tracemalloc.start()
    try:
        response = await world.api.client.post(
            world.url(model),
            headers={**world.admin["headers"], "Content-Type": "multipart/form-data; boundary=b"},
            content=body(),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    with capsys.disabled():
        print(f"\n200 MiB upload refused; peak traced allocation {peak / 2**20:.1f} MiB")
    assert peak < 40 * 2**20
