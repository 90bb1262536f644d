"""The real cluster gateway against a real API server: creating an organization through the
facade lands its Organization resource, owned by the field manager `modelplane-api`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelplane_api.cluster import ORGANIZATION, KubernetesClusterGateway
from modelplane_api.errors import ClusterRejected, ClusterUnavailable
from modelplane_api.main import create_app
from tests.operator.support import wait_established

from .conftest import PASSWORD, fast_passwords, make_settings

REPO = Path(__file__).resolve().parents[2]
CRD = REPO / "manifests" / "base" / "crds" / "modelplane.io_organizations.yaml"


@pytest.fixture(scope="module")
def organization_crd(kubectl: Any) -> None:
    if not CRD.is_file():
        pytest.skip(f"{CRD.relative_to(REPO)} is not generated yet")
    kubectl("apply", "--server-side", "-f", str(CRD))
    wait_established(kubectl, "organizations.modelplane.io")


async def test_creating_an_organization_lands_its_resource_in_the_cluster(
    organization_crd: None, kubeconfig: Path, kubectl: Any, migrated_url: str, redis_url: str
) -> None:
    settings = make_settings(
        migrated_url, redis_url, kubernetes_enabled=True, kubeconfig=str(kubeconfig)
    )
    app = create_app(settings, passwords=fast_passwords())
    slug = f"it-{uuid.uuid4().hex[:8]}"
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            email = f"{slug}@example.com"
            await client.post(
                "/api/v1/auth/register",
                json={"email": email, "password": PASSWORD, "display_name": "IT"},
            )
            login = await client.post(
                "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
            created = await client.post(
                "/api/v1/organizations",
                headers=headers,
                json={"slug": slug, "display_name": "Integration"},
            )
            assert created.status_code == 201, created.text
            renamed = await client.patch(
                f"/api/v1/organizations/{created.json()['data']['id']}",
                headers=headers,
                json={"display_name": "Renamed"},
            )
            assert renamed.status_code == 200
    finally:
        await app.state.ctx.redis.aclose()
        await app.state.ctx.engine.dispose()

    found = json.loads(
        kubectl(
            "get", "organizations.modelplane.io", slug, "-o", "json", "--show-managed-fields"
        ).stdout
    )
    assert found["spec"]["slug"] == slug
    assert found["spec"]["displayName"] == "Renamed"
    assert (
        found["metadata"]["annotations"]["modelplane.io/organization-id"]
        == created.json()["data"]["id"]
    )
    managers = {entry["manager"] for entry in found["metadata"]["managedFields"]}
    assert "modelplane-api" in managers


async def test_the_gateway_reports_validation_refusals_as_rejected(
    organization_crd: None, kubeconfig: Path
) -> None:
    gateway = KubernetesClusterGateway.from_kubeconfig(str(kubeconfig))
    invalid = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": "bad-spec"},
        "spec": {"slug": "NOT A SLUG"},
    }
    with pytest.raises(ClusterRejected) as caught:
        await gateway.apply(ORGANIZATION, invalid)
    assert caught.value.details["status"] == 422
    assert caught.value.status_code == 400
    assert "spec.slug in body should match" in caught.value.message
    assert await gateway.get(ORGANIZATION, "bad-spec") is None


async def test_an_unreachable_api_server_is_cluster_unavailable(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "dead",
                "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
            }
        )
    )
    gateway = KubernetesClusterGateway.from_kubeconfig(str(kubeconfig))
    with pytest.raises(ClusterUnavailable, match="unreachable"):
        await gateway.apply(ORGANIZATION, {"metadata": {"name": "x"}})
