"""Organization reconcile on the real control plane: namespace, quota, limits, network policies,
role bindings that really grant what each role may do, pruning, and the deletion order."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.operator.support import (
    REPO_ROOT,
    Kubectl,
    condition,
    get_json,
    install_crds,
    operator_env,
    run_operator,
    wait_for,
)


@pytest.fixture(scope="module")
def operator(kubectl: Kubectl, kubeconfig: Path) -> Iterator[Kubectl]:
    install_crds(kubectl)
    kubectl("apply", "-k", str(REPO_ROOT / "manifests" / "base" / "rbac"))
    with run_operator(kubectl, operator_env(kubeconfig, reconcile_interval_s=5)):
        yield kubectl


def organization(slug: str, **spec: Any) -> str:
    body = {
        "apiVersion": "modelplane.io/v1alpha1",
        "kind": "Organization",
        "metadata": {"name": slug},
        "spec": {"displayName": f"Org {slug}", "slug": slug, **spec},
    }
    return json.dumps(body)


def ready(kubectl: Kubectl, slug: str) -> dict[str, Any] | None:
    org = get_json(kubectl, "organization", slug)
    found = condition(org, "Ready")
    if (
        found
        and found["status"] == "True"
        and org["status"]["observedGeneration"] == org["metadata"]["generation"]
    ):
        return dict(org)
    return None


def can_i(kubectl: Kubectl, verb: str, namespace: str, group: str) -> bool:
    result = kubectl(
        "auth",
        "can-i",
        verb,
        "modelversions.modelplane.io",
        "-n",
        namespace,
        "--as=jane",
        f"--as-group={group}",
        check=False,
    )
    return result.stdout.strip() == "yes"


def test_organization_yields_namespace_quota_limits_policies_and_bindings(
    operator: Kubectl,
) -> None:
    slug = f"org-{uuid.uuid4().hex[:6]}"
    namespace = f"mp-{slug}"
    operator(
        "apply",
        "-f",
        "-",
        input=organization(
            slug,
            memberGroups={
                "admin": ["acme-admins"],
                "developer": ["acme-devs"],
                "viewer": ["acme-viewers"],
            },
            quota={"cpu": "4", "memory": "8Gi", "pods": 20, "maxDeployments": 5},
            gitopsManaged=True,
        ),
    )
    org = wait_for(lambda: ready(operator, slug), what="Organization Ready")
    assert org["status"]["namespace"] == namespace
    ns = get_json(operator, "namespace", namespace)
    assert ns["metadata"]["labels"]["modelplane.io/organization"] == slug
    assert ns["metadata"]["labels"]["modelplane.io/managed-by"] == "gitops"
    assert ns["metadata"]["annotations"]["modelplane.io/gitops-managed"] == "true"
    quota = get_json(operator, "resourcequota", "modelplane-quota", "-n", namespace)
    assert quota["spec"]["hard"] == {
        "requests.cpu": "4",
        "requests.memory": "8Gi",
        "pods": "20",
        "count/modeldeployments.modelplane.io": "5",
    }
    assert get_json(operator, "limitrange", "modelplane-defaults", "-n", namespace) is not None
    policies = get_json(operator, "networkpolicy", "-n", namespace)["items"]
    by_name = {p["metadata"]["name"]: p["spec"] for p in policies}
    assert by_name["modelplane-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    own, platform = by_name["modelplane-allow-platform"]["ingress"]
    assert own == {"from": [{"podSelector": {}}]}
    assert platform["ports"] == [{"protocol": "TCP", "port": "http"}]  # accepted by the API server
    assert platform["from"][0]["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "modelplane-system"}
    }
    bindings = get_json(operator, "rolebinding", "-n", namespace)["items"]
    assert {b["metadata"]["name"]: [s["name"] for s in b["subjects"]] for b in bindings} == {
        "modelplane-admin": ["acme-admins"],
        "modelplane-developer": ["acme-devs"],
        "modelplane-viewer": ["acme-viewers"],
    }


def test_viewer_can_get_but_not_create_and_developer_can_create(operator: Kubectl) -> None:
    slug = f"org-{uuid.uuid4().hex[:6]}"
    namespace = f"mp-{slug}"
    operator(
        "apply",
        "-f",
        "-",
        input=organization(slug, memberGroups={"developer": ["devs"], "viewer": ["viewers"]}),
    )
    wait_for(lambda: ready(operator, slug), what="Organization Ready")
    assert can_i(operator, "get", namespace, "viewers")
    assert can_i(operator, "list", namespace, "viewers")
    assert not can_i(operator, "create", namespace, "viewers")
    assert can_i(operator, "create", namespace, "devs")
    assert not can_i(operator, "get", namespace, "strangers")
    assert not can_i(operator, "get", "default", "viewers")


def test_removed_group_loses_its_binding_and_deleted_children_come_back(operator: Kubectl) -> None:
    slug = f"org-{uuid.uuid4().hex[:6]}"
    namespace = f"mp-{slug}"
    groups = {"developer": ["devs"], "viewer": ["viewers"]}
    operator("apply", "-f", "-", input=organization(slug, memberGroups=groups))
    wait_for(lambda: ready(operator, slug), what="Organization Ready")
    operator("apply", "-f", "-", input=organization(slug, memberGroups={"developer": ["devs"]}))
    wait_for(
        lambda: get_json(operator, "rolebinding", "modelplane-viewer", "-n", namespace) is None,
        what="viewer binding pruned",
    )
    assert get_json(operator, "rolebinding", "modelplane-developer", "-n", namespace)
    operator("delete", "networkpolicy", "modelplane-default-deny", "-n", namespace)
    wait_for(
        lambda: get_json(operator, "networkpolicy", "modelplane-default-deny", "-n", namespace),
        timeout=30,
        what="deleted network policy restored by the timer",
    )


def test_existing_foreign_namespace_stalls_the_organization(operator: Kubectl) -> None:
    slug = f"org-{uuid.uuid4().hex[:6]}"
    operator("create", "namespace", f"mp-{slug}")
    operator("apply", "-f", "-", input=organization(slug))

    def stalled() -> bool:
        found = condition(get_json(operator, "organization", slug), "Stalled")
        return bool(found and found["reason"] == "NamespaceConflict")

    wait_for(stalled, what="Stalled NamespaceConflict")
    ns = get_json(operator, "namespace", f"mp-{slug}")
    assert "modelplane.io/organization" not in (ns["metadata"].get("labels") or {})


def deployment(name: str, namespace: str) -> str:
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "finalizers": ["tests.modelplane.io/hold"],
            },
            "spec": {"stable": {"modelVersionRef": {"name": "anything-v1"}}},
        }
    )


def test_namespace_is_deleted_only_after_the_model_deployments_are_gone(operator: Kubectl) -> None:
    slug = f"org-{uuid.uuid4().hex[:6]}"
    namespace = f"mp-{slug}"
    operator("apply", "-f", "-", input=organization(slug))
    wait_for(lambda: ready(operator, slug), what="Organization Ready")
    operator("apply", "-f", "-", input=deployment("held", namespace))
    operator("delete", "organization", slug, "--wait=false")
    wait_for(
        lambda: (
            (get_json(operator, "modeldeployment", "held", "-n", namespace) or {})
            .get("metadata", {})
            .get("deletionTimestamp")
        ),
        what="the operator deletes the org's ModelDeployments first",
    )
    ns = get_json(operator, "namespace", namespace)
    assert ns["status"]["phase"] == "Active"
    assert "deletionTimestamp" not in ns["metadata"]
    assert get_json(operator, "organization", slug) is not None
    operator(
        "patch",
        "modeldeployment",
        "held",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    wait_for(
        lambda: get_json(operator, "organization", slug) is None, what="Organization finalized"
    )
    gone_or_terminating = get_json(operator, "namespace", namespace)
    assert gone_or_terminating is None or gone_or_terminating["metadata"].get("deletionTimestamp")
