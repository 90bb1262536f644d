"""An Organization's children: its namespace `mp-<slug>` with quota, limits, network isolation
and role bindings (pure; see `builders`)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelplane_crds import labels
from modelplane_crds.organization import (
    NAMESPACE_PREFIX,
    ORG_ROLES,
    Organization,
    OrganizationSpec,
)
from modelplane_operator.builders import OPERATOR
from modelplane_operator.builders.model_deployment import MLFLOW_SECRET

GITOPS_ANNOTATION = "modelplane.io/gitops-managed"
ROLES = ORG_ROLES
DEFAULT_DENY = "modelplane-default-deny"
ALLOW_PLATFORM = "modelplane-allow-platform"
LIMIT_RANGE = "modelplane-defaults"
QUOTA = "modelplane-quota"


def namespace_name(spec: OrganizationSpec) -> str:
    """`mp-<slug>`."""
    return f"{NAMESPACE_PREFIX}{spec.slug}"


def managed_labels(organization: str) -> dict[str, str]:
    """Labels on every child of an Organization."""
    return {labels.APP_MANAGED_BY: OPERATOR, labels.ORGANIZATION: organization}


def build_namespace(name: str, spec: OrganizationSpec) -> dict[str, Any]:
    """The org namespace: labelled as an org namespace, GitOps flag as annotation and label."""
    meta_labels = managed_labels(name)
    if spec.gitops_managed:
        meta_labels[labels.MANAGED_BY] = labels.GITOPS
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace_name(spec),
            "labels": meta_labels,
            "annotations": {GITOPS_ANNOTATION: str(spec.gitops_managed).lower()},
        },
    }


def build_mlflow_secret(
    org: str, spec: OrganizationSpec, token: str, owner: Mapping[str, Any]
) -> dict[str, Any]:
    """`modelplane-mlflow`: the token serving pods of `models:/` versions download their
    artifact from MLflow with (`MODELPLANE_RUNTIME_MLFLOW_TOKEN`, read through `envFrom`)."""
    body = _child("v1", "Secret", MLFLOW_SECRET, namespace_name(spec), org, owner)
    body["type"] = "Opaque"
    body["data"] = {"MODELPLANE_RUNTIME_MLFLOW_TOKEN": base64.b64encode(token.encode()).decode()}
    return body


def _child(
    api_version: str, kind: str, name: str, namespace: str, org: str, owner: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": managed_labels(org),
            "ownerReferences": [dict(owner)],
        },
    }


def build_resource_quota(
    org: str, spec: OrganizationSpec, owner: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A ResourceQuota from `spec.quota`, or None when the organization has no quota."""
    quota = spec.quota
    if quota is None:
        return None
    hard: dict[str, str] = {}
    if quota.cpu is not None:
        hard["requests.cpu"] = str(quota.cpu)
    if quota.memory is not None:
        hard["requests.memory"] = str(quota.memory)
    if quota.pods is not None:
        hard["pods"] = str(quota.pods)
    if quota.max_deployments is not None:
        hard["count/modeldeployments.modelplane.io"] = str(quota.max_deployments)
    if not hard:
        return None
    body = _child("v1", "ResourceQuota", QUOTA, namespace_name(spec), org, owner)
    body["spec"] = {"hard": hard}
    return body


def build_limit_range(org: str, spec: OrganizationSpec, owner: Mapping[str, Any]) -> dict[str, Any]:
    """Default container requests and limits, so pods without them still fit a CPU/memory
    quota (the API server refuses such pods otherwise)."""
    body = _child("v1", "LimitRange", LIMIT_RANGE, namespace_name(spec), org, owner)
    body["spec"] = {
        "limits": [
            {
                "type": "Container",
                "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                "default": {"cpu": "1", "memory": "512Mi"},
            }
        ]
    }
    return body


PLATFORM_PEERS = ("modelplane-api", "modelplane-operator")
"""`app.kubernetes.io/name` of the platform pods that call serving pods: the facade's inference
proxy and the operator (manifests/base)."""
SCRAPER = "modelplane-prometheus"
"""`app.kubernetes.io/name` of a Prometheus run in the platform namespace."""
MONITORING_LABEL = "modelplane.io/monitoring"
"""Namespaces labelled `modelplane.io/monitoring: "true"` may scrape serving pods (a cluster's
own Prometheus), as they may scrape the platform's pods."""
SERVING_PORT = "http"
"""The serving container's named port: inference and `/metrics`."""


def build_network_policies(
    org: str, spec: OrganizationSpec, platform_namespace: str, owner: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Default-deny ingress for every pod, plus an allowance: the org's own pods, and on the
    serving port only the facade and the operator of the platform namespace and the scrapers (a
    Prometheus in the platform namespace, or in a namespace labelled for monitoring) — no other
    pod of the platform namespace or of any other namespace. Egress stays open: pods read S3."""
    namespace = namespace_name(spec)
    deny = _child("networking.k8s.io/v1", "NetworkPolicy", DEFAULT_DENY, namespace, org, owner)
    deny["spec"] = {"podSelector": {}, "policyTypes": ["Ingress"]}
    allow = _child("networking.k8s.io/v1", "NetworkPolicy", ALLOW_PLATFORM, namespace, org, owner)
    platform = {"matchLabels": {"kubernetes.io/metadata.name": platform_namespace}}
    callers = [*PLATFORM_PEERS, SCRAPER]
    allow["spec"] = {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {}}]},
            {
                "from": [
                    {
                        "namespaceSelector": platform,
                        "podSelector": {
                            "matchExpressions": [
                                {"key": labels.APP_NAME, "operator": "In", "values": callers}
                            ]
                        },
                    },
                    {"namespaceSelector": {"matchLabels": {MONITORING_LABEL: "true"}}},
                ],
                "ports": [{"protocol": "TCP", "port": SERVING_PORT}],
            },
        ],
    }
    return [deny, allow]


def role_binding_name(role: str) -> str:
    """`modelplane-<role>`, the same name as the ClusterRole it binds."""
    return f"modelplane-{role}"


def build_role_bindings(
    org: str, spec: OrganizationSpec, owner: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One RoleBinding per role that has groups, binding them to the aggregated ClusterRole."""
    bindings = []
    for role in ROLES:
        groups: Sequence[str] = getattr(spec.member_groups, role)
        if not groups:
            continue
        body = _child(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            role_binding_name(role),
            namespace_name(spec),
            org,
            owner,
        )
        body["roleRef"] = {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role_binding_name(role),
        }
        body["subjects"] = [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
            for group in sorted(set(groups))
        ]
        bindings.append(body)
    return bindings


def stale_names(
    existing: Iterable[Mapping[str, Any]], desired: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Names of existing managed objects no longer desired (to delete)."""
    wanted = {d["metadata"]["name"] for d in desired}
    return sorted(e["metadata"]["name"] for e in existing if e["metadata"]["name"] not in wanted)


def parse_organization(body: Mapping[str, Any]) -> Organization:
    """The typed Organization (spec only; status and metadata are not validated strictly)."""
    return Organization.model_validate(
        {"metadata": dict(body.get("metadata") or {}), "spec": dict(body.get("spec") or {})}
    )
