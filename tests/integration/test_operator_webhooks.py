"""Admission webhooks served by the operator on loopback with its own certificate, registered as
managed webhook configurations on the real API server: denials kubectl users read, defaults they
see, and kopf's own metadata writes passing through."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from modelplane_api.cluster import MODEL_DEPLOYMENT, ClusterCaller, KubernetesClusterGateway
from modelplane_api.errors import ClusterRejected
from modelplane_api.organizations.models import Organization
from modelplane_api.organizations.resources import build_organization_resource
from modelplane_cli.local.controlplane import kubeconfig_file
from modelplane_cli.local.platform import LocalPlatform
from modelplane_crds.organization import OrgRole, user_identity
from tests.onnx_models import linear_model, model_bytes, signature_of
from tests.operator.support import (
    REPO_ROOT,
    WEBHOOK_CONFIG,
    Kubectl,
    condition,
    facade_kubeconfig,
    get_json,
    install_crds,
    operator_env,
    run_operator,
    wait_for,
)


@pytest.fixture(scope="module")
def operator(kubectl: Kubectl, kubeconfig: Path, s3: Any) -> Iterator[Kubectl]:
    install_crds(kubectl)
    kubectl("apply", "-k", str(REPO_ROOT / "manifests" / "base" / "rbac"))
    env = operator_env(kubeconfig, s3, webhook_mode="managed")
    with run_operator(kubectl, env):
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            wait_for(partial(get_json, kubectl, kind, WEBHOOK_CONFIG), what=f"{kind} registered")
        yield kubectl
    assert get_json(kubectl, "validatingwebhookconfiguration", WEBHOOK_CONFIG) is None


def apply(kubectl: Kubectl, body: dict[str, Any], *extra: str) -> Any:
    return kubectl("apply", "-f", "-", *extra, input=json.dumps(body), check=False)


def make_org(kubectl: Kubectl, **groups: list[str]) -> str:
    slug = f"wh-{uuid.uuid4().hex[:6]}"
    apply(
        kubectl,
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "Organization",
            "metadata": {"name": slug},
            "spec": {"displayName": slug, "slug": slug, "memberGroups": groups},
        },
    )
    wait_for(
        lambda: (
            (condition(get_json(kubectl, "organization", slug), "Ready") or {}).get("status")
            == "True"
        ),
        what="org Ready",
    )
    return f"mp-{slug}"


def version_body(namespace: str, name: str, s3: Any, *, good: bool = True) -> dict[str, Any]:
    model = linear_model(4)
    data, digest = model_bytes(model)
    key = f"wh/{uuid.uuid4().hex}.onnx"
    s3.client().put_object(Bucket=s3.bucket, Key=key, Body=data)
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelVersion",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "modelName": "fraud",
            "version": "1",
            "artifact": {
                "uri": f"s3://{s3.bucket}/{key}",
                "sha256": digest if good else hashlib.sha256(b"x").hexdigest(),
            },
            "signature": signature_of(model),
        },
    }


def deployment_body(namespace: str, stable: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": f"dep-{uuid.uuid4().hex[:6]}", "namespace": namespace},
        "spec": {"stable": {"modelVersionRef": {"name": stable}}, **spec},
    }


@pytest.fixture(scope="module")
def orgs(operator: Kubectl, s3: Any) -> tuple[str, str]:
    a = make_org(operator, admin=["a-admins"], developer=["a-devs"])
    b = make_org(operator)
    for namespace in (a, b):
        result = apply(operator, version_body(namespace, "fraud-v1", s3))
        assert result.returncode == 0, result.stderr
        operator("wait", "--for=condition=Ready", "--timeout=60s", "mv/fraud-v1", "-n", namespace)
    return a, b


def test_model_version_passes_admission_gets_labels_and_becomes_ready(
    operator: Kubectl, orgs: tuple[str, str]
) -> None:
    a, _ = orgs
    obj = get_json(operator, "mv", "fraud-v1", "-n", a)
    assert obj["metadata"]["labels"]["modelplane.io/model"] == "fraud"
    assert obj["metadata"]["labels"]["modelplane.io/organization"] == a.removeprefix("mp-")
    # kopf's annotation patches went through the validating webhook.
    assert condition(obj, "Ready")["status"] == "True"


def test_reference_into_another_org_is_denied_with_a_readable_message(
    operator: Kubectl, orgs: tuple[str, str]
) -> None:
    a, b = orgs
    result = apply(operator, deployment_body(a, f"{b}/fraud-v1"))
    assert result.returncode != 0
    assert "denied the request" in result.stderr
    assert "references never cross namespaces" in result.stderr
    assert f"'{b}/fraud-v1' is outside '{a}'" in result.stderr


def test_version_name_that_only_exists_in_another_org_is_not_found(
    operator: Kubectl, orgs: tuple[str, str], s3: Any
) -> None:
    a, b = orgs
    apply(operator, version_body(b, "only-in-b", s3))
    result = apply(operator, deployment_body(a, "only-in-b"))
    assert result.returncode != 0
    assert f"ModelVersion 'only-in-b' not found in namespace '{a}'" in result.stderr


def test_version_name_that_exists_nowhere_is_not_found(
    operator: Kubectl, orgs: tuple[str, str]
) -> None:
    a, _ = orgs
    body = deployment_body(a, "never-registered")
    result = apply(operator, body)
    assert result.returncode != 0
    assert f"ModelVersion 'never-registered' not found in namespace '{a}'" in result.stderr
    assert get_json(operator, "mdep", body["metadata"]["name"], "-n", a) is None


def test_disallowed_image_is_denied(operator: Kubectl, orgs: tuple[str, str]) -> None:
    a, _ = orgs
    result = apply(
        operator, deployment_body(a, "fraud-v1", runtime={"image": "docker.io/evil/miner:1"})
    )
    assert result.returncode != 0
    assert "'docker.io/evil/miner:1' is not on the platform's image allow-list" in result.stderr


def test_stalled_version_cannot_be_deployed(
    operator: Kubectl, orgs: tuple[str, str], s3: Any
) -> None:
    a, _ = orgs
    apply(operator, version_body(a, "broken-v1", s3, good=False))
    wait_for(
        lambda: (
            (condition(get_json(operator, "mv", "broken-v1", "-n", a), "Stalled") or {}).get(
                "status"
            )
            == "True"
        ),
        what="broken version Stalled",
    )
    result = apply(operator, deployment_body(a, "broken-v1"))
    assert result.returncode != 0
    assert "is Stalled and cannot serve (DigestMismatch" in result.stderr


def test_resources_outside_org_namespaces_are_denied(
    operator: Kubectl, orgs: tuple[str, str], s3: Any
) -> None:
    operator("create", "namespace", "not-an-org", check=False)
    result = apply(operator, version_body("not-an-org", "fraud-v1", s3))
    assert result.returncode != 0
    assert "'not-an-org' does not belong to any organization" in result.stderr


def test_deployment_gets_labels_and_explicit_runtime_defaults(
    operator: Kubectl, orgs: tuple[str, str]
) -> None:
    a, _ = orgs
    body = deployment_body(a, "fraud-v1", resources={"limits": {"cpu": "2"}})
    result = apply(operator, body)
    assert result.returncode == 0, result.stderr
    stored = get_json(operator, "mdep", body["metadata"]["name"], "-n", a)
    assert stored["metadata"]["labels"]["modelplane.io/model"] == "fraud"
    assert stored["spec"]["runtime"] == {
        "image": "ghcr.io/modelplane/serving-runtime:0.1.0",
        "intraOpThreads": 2,
    }


def test_production_changes_need_the_org_admin_group(
    operator: Kubectl, orgs: tuple[str, str]
) -> None:
    a, _ = orgs
    body = deployment_body(a, "fraud-v1", environment="production")
    as_dev = apply(operator, body, "--as=dev", "--as-group=a-devs")
    assert as_dev.returncode != 0
    assert "needs the organization's admin role" in as_dev.stderr
    as_admin = apply(operator, body, "--as=boss", "--as-group=a-admins")
    assert as_admin.returncode == 0, as_admin.stderr


# One rule for the facade and kubectl (issue 29): the facade's calls carry the person, and the
# webhook judges that person exactly as it judges their own kubectl.


@dataclass(frozen=True)
class FacadeOrg:
    namespace: str
    gateway: KubernetesClusterGateway
    """The facade's real gateway, authenticated as its ServiceAccount (manifests/base/api)."""


@pytest.fixture(scope="module")
def facade_org(
    operator: Kubectl,
    s3: Any,
    kubeconfig: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> FacadeOrg:
    """An organization as the facade applies it (its role groups in memberGroups, bound by the
    operator) with a Ready version, and the facade's gateway with its facade-side check off:
    the tests call the gateway directly, as a route would after its own role check."""
    slug = f"wh-{uuid.uuid4().hex[:6]}"
    row = Organization(id=uuid.uuid4(), slug=slug, display_name=slug, description="")
    result = apply(operator, build_organization_resource(row))
    assert result.returncode == 0, result.stderr
    wait_for(
        lambda: (
            (condition(get_json(operator, "organization", slug), "Ready") or {}).get("status")
            == "True"
        ),
        what="org Ready",
    )
    namespace = f"mp-{slug}"
    result = apply(operator, version_body(namespace, "fraud-v1", s3))
    assert result.returncode == 0, result.stderr
    operator("wait", "--for=condition=Ready", "--timeout=60s", "mv/fraud-v1", "-n", namespace)
    path = facade_kubeconfig(kubeconfig, tmp_path_factory.mktemp("facade") / "config")
    return FacadeOrg(namespace, KubernetesClusterGateway.from_kubeconfig(str(path)))


def _person(role: OrgRole) -> ClusterCaller:
    return ClusterCaller(user_identity(uuid.uuid4()), role)


def _kubectl_as(
    kubectl: Kubectl, platform: LocalPlatform, person: ClusterCaller, namespace: str, tmp: Path
) -> Kubectl:
    """kubectl with a client certificate of the same user and group the facade carries."""
    plane = platform.control_plane
    assert plane is not None
    group = person.headers(namespace)["Impersonate-Group"]
    pair = plane.ca_authority.issue(
        f"person-{uuid.uuid4().hex[:8]}", person.user, organization=group, client=True
    )
    config = kubeconfig_file(
        tmp / "person.kubeconfig", plane.server, plane.ca_authority.pem, pair, "p"
    )
    return partial(kubectl, extra_env={"KUBECONFIG": str(config)})


async def test_a_developer_carried_by_the_facade_meets_the_webhook_like_their_kubectl(
    facade_org: FacadeOrg, kubectl: Kubectl, platform: LocalPlatform, tmp_path: Path
) -> None:
    body = deployment_body(facade_org.namespace, "fraud-v1", environment="production")
    developer = _person("developer")
    with pytest.raises(ClusterRejected, match="needs the organization's admin role"):
        await facade_org.gateway.acting_as(developer).apply(MODEL_DEPLOYMENT, body)

    as_developer = _kubectl_as(kubectl, platform, developer, facade_org.namespace, tmp_path)
    result = apply(as_developer, body)
    assert result.returncode != 0
    assert "needs the organization's admin role" in result.stderr


async def test_an_admin_changes_production_through_the_facade_and_with_kubectl(
    facade_org: FacadeOrg, kubectl: Kubectl, platform: LocalPlatform, tmp_path: Path
) -> None:
    admin = _person("admin")
    body = deployment_body(facade_org.namespace, "fraud-v1", environment="production")
    as_admin_facade = facade_org.gateway.acting_as(admin)
    await as_admin_facade.apply(MODEL_DEPLOYMENT, body)
    name = body["metadata"]["name"]
    found = await as_admin_facade.get(MODEL_DEPLOYMENT, name, facade_org.namespace)
    assert found is not None
    assert found["spec"]["environment"] == "production"

    as_admin = _kubectl_as(kubectl, platform, admin, facade_org.namespace, tmp_path)
    other = deployment_body(facade_org.namespace, "fraud-v1", environment="production")
    result = apply(as_admin, other)
    assert result.returncode == 0, result.stderr


async def test_a_viewer_carried_by_the_facade_is_refused_by_rbac_before_any_webhook(
    facade_org: FacadeOrg,
) -> None:
    body = deployment_body(facade_org.namespace, "fraud-v1")
    viewer = _person("viewer")
    with pytest.raises(ClusterRejected) as refused:
        await facade_org.gateway.acting_as(viewer).apply(MODEL_DEPLOYMENT, body)
    assert refused.value.details["status"] == 403
    assert viewer.user in refused.value.message
    assert "admin role" not in refused.value.message
