"""The facade's Organization on a real API server: its role groups and a platform engineer's
groups live side by side in `memberGroups` (sets under server-side apply)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from modelplane_api.cluster import ORGANIZATION, KubernetesClusterGateway
from modelplane_api.organizations.models import Organization
from modelplane_api.organizations.resources import build_organization_resource
from modelplane_crds.kinds import kind_for
from tests.conftest import Kubectl
from tests.crds.support import CRD_DIR
from tests.operator.support import wait_established


@pytest.fixture(scope="module")
def gateway(kube_api: Any, kubectl: Kubectl) -> KubernetesClusterGateway:
    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(CRD_DIR))
    crd = kind_for("Organization").crd_name
    wait_established(kubectl, crd)
    return KubernetesClusterGateway(kube_api)


async def test_groups_added_by_kubectl_survive_the_facades_apply(
    gateway: KubernetesClusterGateway, kubectl: Kubectl
) -> None:
    slug = f"ids-{uuid.uuid4().hex[:8]}"
    org = Organization(id=uuid.uuid4(), slug=slug, display_name="Identities", description="")
    await gateway.apply(ORGANIZATION, build_organization_resource(org))
    extra = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": slug},
        "spec": {"slug": slug, "displayName": "Identities", "memberGroups": {"admin": ["leads"]}},
    }
    kubectl(
        "apply", "--server-side", "--field-manager=platform-engineer", "-f", "-",
        input=json.dumps(extra),
    )  # fmt: skip

    org.display_name = "Identities renamed"
    await gateway.apply(ORGANIZATION, build_organization_resource(org))

    found = await gateway.get(ORGANIZATION, slug)
    assert found is not None
    groups = found["spec"]["memberGroups"]
    assert sorted(groups["admin"]) == ["leads", f"modelplane:org:{slug}:admin"]
    assert groups["developer"] == [f"modelplane:org:{slug}:developer"]
    assert groups["viewer"] == [f"modelplane:org:{slug}:viewer"]
