"""Organizations: the row and its cluster resource land together or not at all; their MLflow
workspace is created with them (or as soon as MLflow is back); members."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select

from modelplane_api.audit.models import AuditEvent
from modelplane_api.cluster import ORGANIZATION
from modelplane_api.errors import ClusterUnavailable
from modelplane_api.organizations.models import Membership, Organization
from modelplane_api.registry.reconcile import mirror_pending
from modelplane_cli.local.services import MLflow
from tests.runtime.conftest import free_port

from .conftest import Api, ApiFactory


async def test_creating_an_organization_applies_its_resource(api: Api) -> None:
    owner = await api.register("owner")
    org = await api.create_org(owner, slug=f"acme-{uuid.uuid4().hex[:6]}")
    ((kind, body),) = api.gateway.applied
    assert kind == ORGANIZATION
    assert body["apiVersion"] == "modelplane.io/v1alpha1"
    assert body["kind"] == "Organization"
    assert body["metadata"]["name"] == org["slug"]
    assert body["metadata"]["annotations"]["modelplane.io/organization-id"] == org["id"]
    assert body["spec"]["displayName"] == "Org"
    assert org["role"] == "admin"


async def test_a_failed_apply_persists_nothing_and_answers_503(api: Api) -> None:
    owner = await api.register("owner")
    slug = f"down-{uuid.uuid4().hex[:6]}"
    api.gateway.fail_with = ClusterUnavailable("Kubernetes API unreachable")
    response = await api.client.post(
        "/api/v1/organizations",
        headers=owner["headers"],
        json={"slug": slug, "display_name": "Down"},
    )
    assert response.status_code == 503
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "cluster_unavailable"
    async with api.app.state.ctx.sessions() as session:
        orgs = await session.scalar(
            select(func.count()).select_from(Organization).where(Organization.slug == slug)
        )
        members = await session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.user_id == uuid.UUID(owner["id"]))
        )
        outcome = await session.scalar(
            select(AuditEvent.outcome).where(
                AuditEvent.action == "organization.create",
                AuditEvent.actor_id == uuid.UUID(owner["id"]),
            )
        )
    assert (orgs, members, outcome) == (0, 0, "failure")
    # The same request succeeds once the cluster is back (apply is idempotent).
    api.gateway.fail_with = None
    retried = await api.client.post(
        "/api/v1/organizations",
        headers=owner["headers"],
        json={"slug": slug, "display_name": "Down"},
    )
    assert retried.status_code == 201


async def test_slugs_are_unique(api: Api) -> None:
    owner = await api.register("owner")
    org = await api.create_org(owner)
    again = await api.client.post(
        "/api/v1/organizations",
        headers=owner["headers"],
        json={"slug": org["slug"], "display_name": "Again"},
    )
    assert again.status_code == 409
    assert len(api.gateway.applied) == 1


async def test_renaming_reapplies_the_resource(api: Api) -> None:
    owner = await api.register("owner")
    org = await api.create_org(owner)
    renamed = await api.client.patch(
        f"/api/v1/organizations/{org['id']}", headers=owner["headers"], json={"display_name": "New"}
    )
    assert renamed.status_code == 200
    assert renamed.json()["data"]["display_name"] == "New"
    assert api.gateway.applied[-1][1]["spec"]["displayName"] == "New"


async def test_the_last_admin_can_be_neither_demoted_nor_removed(api: Api) -> None:
    owner = await api.register("owner")
    org = await api.create_org(owner)
    base = f"/api/v1/organizations/{org['id']}/members/{owner['id']}"
    demote = await api.client.patch(base, headers=owner["headers"], json={"role": "viewer"})
    remove = await api.client.delete(base, headers=owner["headers"])
    assert demote.status_code == remove.status_code == 409


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(api: Api) -> None:
    """Without the organization lock both requests count two admins and both succeed."""
    import asyncio

    for _ in range(5):  # the race is real: run it a few times
        first, second = await api.register("a1"), await api.register("a2")
        org = await api.create_org(first)
        await api.add_member(first, org["id"], second, "admin")
        base = f"/api/v1/organizations/{org['id']}/members"
        results = await asyncio.gather(
            api.client.patch(
                f"{base}/{second['id']}", headers=first["headers"], json={"role": "viewer"}
            ),
            api.client.patch(
                f"{base}/{first['id']}", headers=second["headers"], json={"role": "viewer"}
            ),
        )
        # The loser is refused: 409 (it counted one admin left) or 403 (it was already demoted).
        assert sorted(r.status_code for r in results) in ([200, 403], [200, 409]), [
            r.text for r in results
        ]
        listed = await api.client.get(base, headers=first["headers"])
        admins = [m for m in listed.json()["data"] if m["role"] == "admin"]
        assert len(admins) == 1


async def test_a_removed_member_loses_access(api: Api) -> None:
    owner, member = await api.register("owner"), await api.register("member")
    org = await api.create_org(owner)
    await api.add_member(owner, org["id"], member, "developer")
    url = f"/api/v1/organizations/{org['id']}"
    assert (await api.client.get(url, headers=member["headers"])).status_code == 200
    removed = await api.client.delete(f"{url}/members/{member['id']}", headers=owner["headers"])
    assert removed.status_code == 204
    assert (await api.client.get(url, headers=member["headers"])).status_code == 404


async def test_adding_a_member_twice_is_a_conflict(api: Api) -> None:
    owner, member = await api.register("owner"), await api.register("member")
    org = await api.create_org(owner)
    await api.add_member(owner, org["id"], member, "viewer")
    again = await api.client.post(
        f"/api/v1/organizations/{org['id']}/members",
        headers=owner["headers"],
        json={"email": member["email"], "role": "admin"},
    )
    assert again.status_code == 409


async def test_a_revoked_api_key_stops_working(api: Api) -> None:
    owner = await api.register("owner")
    org = await api.create_org(owner)
    key = await api.create_api_key(owner, org["id"], "viewer")
    headers = {"Authorization": f"Bearer {key['key']}"}
    url = f"/api/v1/organizations/{org['id']}/projects"
    assert (await api.client.get(url, headers=headers)).status_code == 200
    revoked = await api.client.delete(
        f"/api/v1/organizations/{org['id']}/api-keys/{key['id']}", headers=owner["headers"]
    )
    assert revoked.status_code == 204
    assert (await api.client.get(url, headers=headers)).status_code == 401


async def test_api_key_listing_never_shows_secrets(api: Api) -> None:
    owner = await api.register("owner")
    org = await api.create_org(owner)
    key = await api.create_api_key(owner, org["id"], "viewer")
    listed = await api.client.get(
        f"/api/v1/organizations/{org['id']}/api-keys", headers=owner["headers"]
    )
    (item,) = listed.json()["data"]
    assert "key" not in item
    assert "key_hash" not in item
    assert key["key"].startswith(item["prefix"])
    assert item["scope"] == "full"


async def test_an_inference_key_calls_deployments_and_nothing_else(api: Api) -> None:
    owner = await api.register("owner")
    org = await api.create_org(owner)
    key = await api.create_api_key(owner, org["id"], "admin", "inference")
    assert key["scope"] == "inference"
    headers = {"Authorization": f"Bearer {key['key']}"}
    base = f"/api/v1/organizations/{org['id']}"
    refused = await api.client.get(f"{base}/models", headers=headers)
    assert refused.status_code == 403
    assert "scope is inference" in refused.json()["error"]["message"]
    unknown = await api.client.post(f"{base}/deployments/nothing/infer", headers=headers, json={})
    assert unknown.status_code == 404  # past the scope check: the deployment does not exist


# One MLflow workspace per organization, created when the organization is.


def _workspace(mlflow: MLflow, slug: str) -> httpx.Response:
    """MLflow's own answer about the organization's workspace (asked directly, with the
    facade's token, not through the facade)."""
    return httpx.get(
        f"{mlflow.url}/api/3.0/mlflow/workspaces/mp-{slug}", headers=mlflow.headers(), timeout=10
    )


async def _row(api: Api, org_id: str) -> Organization:
    async with api.app.state.ctx.sessions() as session:
        row: Organization | None = await session.get(Organization, uuid.UUID(org_id))
        assert row is not None
        return row


async def test_creating_an_organization_creates_its_mlflow_workspace(
    make_api: ApiFactory, mlflow_server: MLflow
) -> None:
    api: Api = await make_api()
    owner = await api.register("owner")
    slug = f"ws-{uuid.uuid4().hex[:8]}"
    assert _workspace(mlflow_server, slug).status_code == 404
    await api.create_org(owner, slug=slug)  # no tracking call, no dashboard call
    found = _workspace(mlflow_server, slug)
    assert found.status_code == 200, found.text
    assert found.json()["workspace"]["name"] == f"mp-{slug}"


@contextlib.asynccontextmanager
async def _forwarder(port: int, upstream: str) -> AsyncIterator[None]:
    """MLflow back at the address the facade was given: a TCP relay on `port` to it."""
    target = urlsplit(upstream)

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection(target.hostname, target.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_an_organization_created_while_mlflow_is_away_gets_its_workspace_when_it_is_back(
    make_api: ApiFactory, mlflow_server: MLflow
) -> None:
    port = free_port()
    api: Api = await make_api(mlflow_tracking_uri=f"http://127.0.0.1:{port}")  # nothing there
    owner = await api.register("owner")
    slug = f"away-{uuid.uuid4().hex[:8]}"
    org = await api.create_org(owner, slug=slug)  # 201 all the same
    row = await _row(api, org["id"])
    assert row.mlflow_workspace_at is None
    assert row.mlflow_error is not None
    assert "unreachable" in row.mlflow_error
    assert row.mlflow_attempts == 1
    assert row.mlflow_next_attempt_at is not None
    ctx: Any = api.app.state.ctx
    async with _forwarder(port, mlflow_server.url):
        api.clock.now = row.mlflow_next_attempt_at - timedelta(seconds=1)
        await mirror_pending(ctx)  # not due yet: the retry waits its backoff
        assert _workspace(mlflow_server, slug).status_code == 404
        api.clock.now = row.mlflow_next_attempt_at
        await mirror_pending(ctx)  # the registry's periodic retry path
        found = _workspace(mlflow_server, slug)
        assert found.status_code == 200, found.text
    row = await _row(api, org["id"])
    assert row.mlflow_workspace_at is not None
    assert (row.mlflow_error, row.mlflow_next_attempt_at) == (None, None)


async def test_without_mlflow_an_organization_is_created_and_its_workspace_waits(
    make_api: ApiFactory,
) -> None:
    api: Api = await make_api(mlflow_tracking_uri=None)
    owner = await api.register("owner")
    org = await api.create_org(owner)
    row = await _row(api, org["id"])
    assert row.mlflow_workspace_at is None
    assert row.mlflow_error == "no MLflow tracking server is configured"
