"""Organization: a tenant of Modelplane, cluster-scoped.

The operator turns an Organization into a namespace `mp-<slug>` with a ResourceQuota, a
LimitRange, a default-deny NetworkPolicy and RoleBindings from the organization's groups to the
`modelplane-admin` / `-developer` / `-viewer` ClusterRoles. The slug names the namespace, so it
cannot change after creation.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from pydantic.config import JsonDict

from modelplane_crds.base import API_VERSION, K8sModel, ObjectMeta, Quantity, Rule
from modelplane_crds.conditions import ObjectStatus

NAMESPACE_PREFIX = "mp-"

# Ready reasons.
NAMESPACE_READY = "NamespaceReady"
NAMESPACE_CONFLICT = "NamespaceConflict"
PROVISIONING = "Provisioning"

GroupName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
_SET: JsonDict = {"x-kubernetes-list-type": "set"}
"""Group lists merge by value under server-side apply: the facade owns the groups it mirrors, a
platform engineer (kubectl, Git) owns the ones they add, and neither apply drops the other's."""

OrgRole = Literal["admin", "developer", "viewer"]
ORG_ROLES: tuple[OrgRole, ...] = ("admin", "developer", "viewer")
IDENTITY_PREFIX = "modelplane:"
"""Every Kubernetes user and group name the facade acts as starts with this (docs/security.md)."""


def user_identity(user_id: uuid.UUID) -> str:
    """The Kubernetes user name of a facade user: `modelplane:user:<uuid>`."""
    return f"{IDENTITY_PREFIX}user:{user_id}"


def api_key_identity(key_id: uuid.UUID) -> str:
    """The Kubernetes user name of a facade API key: `modelplane:api-key:<uuid>`."""
    return f"{IDENTITY_PREFIX}api-key:{key_id}"


def parse_identity(name: str) -> tuple[Literal["user", "api-key"], uuid.UUID] | None:
    """The facade principal behind a user name of `user_identity` / `api_key_identity`."""
    for kind in ("user", "api-key"):
        prefix = f"{IDENTITY_PREFIX}{kind}:"
        if name.startswith(prefix):
            try:
                return kind, uuid.UUID(name.removeprefix(prefix))
            except ValueError:
                return None
    return None


def role_group(slug: str, role: OrgRole) -> str:
    """The Kubernetes group of an organization role: `modelplane:org:<slug>:<role>`. The facade
    puts it in `memberGroups.<role>` and asserts it (impersonation) for that role's members."""
    return f"{IDENTITY_PREFIX}org:{slug}:{role}"


class MemberGroups(K8sModel):
    """Identity-provider groups whose members get each role in the organization."""

    admin: list[GroupName] = Field(default_factory=list, max_length=64, json_schema_extra=_SET)
    """Groups whose members administer the organization: members, roles, production
    deployments. Bound to the `modelplane-admin` ClusterRole in the namespace."""

    developer: list[GroupName] = Field(default_factory=list, max_length=64, json_schema_extra=_SET)
    """Groups whose members register models and change staging deployments. Bound to the
    `modelplane-developer` ClusterRole."""

    viewer: list[GroupName] = Field(default_factory=list, max_length=64, json_schema_extra=_SET)
    """Groups whose members can read everything in the organization. Bound to the
    `modelplane-viewer` ClusterRole."""


class OrganizationQuota(K8sModel):
    """Limits on what the organization's namespace may consume (a ResourceQuota)."""

    cpu: Quantity | None = None
    """Total CPU requests of all pods in the namespace, for example `8` or `7500m`."""

    memory: Quantity | None = None
    """Total memory requests of all pods in the namespace, for example `32Gi`."""

    pods: int | None = Field(default=None, ge=0, le=100000)
    """Maximum number of pods in the namespace."""

    max_deployments: int | None = Field(default=None, ge=0, le=10000)
    """Maximum number of ModelDeployments in the organization."""


class OrganizationSpec(K8sModel):
    """The desired state of an Organization."""

    cel_rules = (
        Rule(
            cel="self.slug == oldSelf.slug",
            message="slug is immutable: it names the organization's namespace",
            field_path=".slug",
        ),
    )

    display_name: str = Field(min_length=1, max_length=253)
    """Human-readable name shown in the dashboard, for example `Acme Fraud Team`."""

    slug: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """Short lowercase identifier; the organization's namespace is `mp-<slug>`. Immutable."""

    member_groups: MemberGroups = Field(default_factory=MemberGroups)
    """Which identity-provider groups get which role in the organization."""

    quota: OrganizationQuota | None = None
    """Resource limits for the organization's namespace. Omit for no quota."""

    gitops_managed: bool = False
    """When true, the organization's resources are owned by a GitOps tool (Argo CD, Flux): the
    namespace is labelled `modelplane.io/managed-by: gitops` and the dashboard and API treat its
    resources as read-only."""


class OrganizationStatus(ObjectStatus):
    """The observed state of an Organization."""

    namespace: str | None = Field(default=None, max_length=63)
    """The namespace the operator created for the organization."""


class Organization(K8sModel):
    """Organization is a tenant: a namespace with quota, network isolation and role bindings
    for its groups."""

    api_version: Literal["modelplane.io/v1alpha1"] = API_VERSION
    kind: Literal["Organization"] = "Organization"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: OrganizationSpec
    """The desired state of the organization."""

    status: OrganizationStatus | None = None
    """The observed state of the organization, written by the operator."""
