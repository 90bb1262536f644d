"""Builders are pure: spec in, Kubernetes objects out."""

from __future__ import annotations

from typing import Any

from modelplane_crds.organization import OrganizationSpec
from modelplane_operator.builders import model_version
from modelplane_operator.builders import organization as builders
from modelplane_operator.handlers import converged

OWNER = {
    "apiVersion": "modelplane.io/v1alpha1",
    "kind": "Organization",
    "name": "acme",
    "uid": "u1",
    "controller": True,
    "blockOwnerDeletion": False,
}


def make_spec(**fields: Any) -> OrganizationSpec:
    return OrganizationSpec.model_validate({"displayName": "Acme", "slug": "acme", **fields})


def test_namespace_is_mp_slug_labelled_for_the_org_with_the_gitops_flag() -> None:
    ns = builders.build_namespace("acme", make_spec(gitopsManaged=True))
    assert ns["metadata"]["name"] == "mp-acme"
    assert ns["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "modelplane-operator",
        "modelplane.io/organization": "acme",
        "modelplane.io/managed-by": "gitops",
    }
    assert ns["metadata"]["annotations"] == {"modelplane.io/gitops-managed": "true"}
    plain = builders.build_namespace("acme", make_spec())
    assert "modelplane.io/managed-by" not in plain["metadata"]["labels"]
    assert plain["metadata"]["annotations"] == {"modelplane.io/gitops-managed": "false"}


def test_quota_maps_each_spec_field_and_is_absent_without_quota() -> None:
    quota = builders.build_resource_quota(
        "acme", make_spec(quota={"cpu": "7500m", "pods": 10, "maxDeployments": 3}), OWNER
    )
    assert quota is not None
    assert quota["spec"]["hard"] == {
        "requests.cpu": "7500m",
        "pods": "10",
        "count/modeldeployments.modelplane.io": "3",
    }
    assert quota["metadata"]["namespace"] == "mp-acme"
    assert quota["metadata"]["ownerReferences"] == [OWNER]
    assert builders.build_resource_quota("acme", make_spec(), OWNER) is None
    assert builders.build_resource_quota("acme", make_spec(quota={}), OWNER) is None


def test_network_policies_admit_own_pods_and_on_the_serving_port_only_platform_callers() -> None:
    deny, allow = builders.build_network_policies("acme", make_spec(), "platform", OWNER)
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    own, platform = allow["spec"]["ingress"]
    assert own == {"from": [{"podSelector": {}}]}
    assert platform["ports"] == [{"protocol": "TCP", "port": "http"}]
    assert platform["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "platform"}},
            "podSelector": {
                "matchExpressions": [
                    {
                        "key": "app.kubernetes.io/name",
                        "operator": "In",
                        "values": [
                            "modelplane-api",
                            "modelplane-operator",
                            "modelplane-prometheus",
                        ],
                    }
                ]
            },
        },
        {"namespaceSelector": {"matchLabels": {"modelplane.io/monitoring": "true"}}},
    ]


def test_role_bindings_only_for_roles_with_groups_and_deduplicated() -> None:
    bindings = builders.build_role_bindings(
        "acme", make_spec(memberGroups={"admin": ["a", "a"], "viewer": ["v2", "v1"]}), OWNER
    )
    assert [b["metadata"]["name"] for b in bindings] == ["modelplane-admin", "modelplane-viewer"]
    assert bindings[0]["roleRef"]["name"] == "modelplane-admin"
    assert [s["name"] for s in bindings[0]["subjects"]] == ["a"]
    assert [s["name"] for s in bindings[1]["subjects"]] == ["v1", "v2"]
    assert all(s["kind"] == "Group" for s in bindings[1]["subjects"])


def test_stale_names_are_existing_minus_desired() -> None:
    existing = [{"metadata": {"name": n}} for n in ("a", "b", "c")]
    desired = [{"metadata": {"name": "b"}}]
    assert builders.stale_names(existing, desired) == ["a", "c"]


def test_used_by_lists_deployments_referencing_as_stable_or_candidate_but_not_deleting() -> None:
    deployments = [
        {"metadata": {"name": "d1"}, "spec": {"stable": {"modelVersionRef": {"name": "v1"}}}},
        {
            "metadata": {"name": "d2"},
            "spec": {
                "stable": {"modelVersionRef": {"name": "v0"}},
                "candidate": {"modelVersionRef": {"name": "v1"}},
            },
        },
        {
            "metadata": {"name": "d3", "deletionTimestamp": "x"},
            "spec": {"stable": {"modelVersionRef": {"name": "v1"}}},
        },
        {"metadata": {"name": "d4"}, "spec": {"stable": {"modelVersionRef": {"name": "v2"}}}},
    ]
    assert model_version.used_by(deployments, "v1") == ["d1", "d2"]
    assert model_version.used_by(deployments, "v9") == []


def test_backoff_doubles_and_is_capped() -> None:
    assert [converged.backoff(n, 1.0, 10.0) for n in range(6)] == [1, 2, 4, 8, 10, 10]


def test_malformed_conditions_are_dropped_not_fatal() -> None:
    status = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ok",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            },
            {"type": "Broken"},
        ]
    }
    assert [c.type for c in converged.conditions_of(status)] == ["Ready"]
