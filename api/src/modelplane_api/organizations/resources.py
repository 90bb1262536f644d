"""Pure builders of the Kubernetes objects an organization owns (no I/O)."""

from __future__ import annotations

from typing import Any

from modelplane_api.cluster import FIELD_MANAGER
from modelplane_api.organizations.models import Organization
from modelplane_crds.base import ObjectMeta
from modelplane_crds.organization import ORG_ROLES, MemberGroups, OrganizationSpec, role_group
from modelplane_crds.organization import Organization as OrganizationResource

ORGANIZATION_ID_ANNOTATION = "modelplane.io/organization-id"


def build_organization_resource(org: Organization) -> dict[str, Any]:
    """The `Organization` custom resource the facade applies for a row.

    Its memberGroups carry the facade's role groups (`modelplane:org:<slug>:<role>`), so the
    operator binds each to its role's ClusterRole like any identity-provider group; who is in
    which group the facade asserts per call (impersonation), from its own memberships. The lists
    are sets under server-side apply: groups a platform engineer adds stay."""
    resource = OrganizationResource(
        metadata=ObjectMeta(
            name=org.slug,
            labels={"app.kubernetes.io/managed-by": FIELD_MANAGER},
            annotations={ORGANIZATION_ID_ANNOTATION: str(org.id)},
        ),
        spec=OrganizationSpec(
            display_name=org.display_name[:253],
            slug=org.slug,
            member_groups=MemberGroups(
                **{role: [role_group(org.slug, role)] for role in ORG_ROLES}
            ),
        ),
    )
    return resource.model_dump(by_alias=True, exclude_none=True, mode="json")


def gitops_owner(organization: dict[str, Any] | None) -> str | None:
    """Who owns an organization in Git, when its Organization says `gitopsManaged: true`
    (named from Argo CD's or Flux's labels and annotations); None when the facade may write."""
    if not organization or not (organization.get("spec") or {}).get("gitopsManaged"):
        return None
    meta = organization.get("metadata") or {}
    found = {**(meta.get("annotations") or {}), **(meta.get("labels") or {})}
    if app := found.get("argocd.argoproj.io/instance"):
        return f"Argo CD application {app!r}"
    if tracking := found.get("argocd.argoproj.io/tracking-id"):
        return f"Argo CD application {tracking.split(':', 1)[0]!r}"
    if name := found.get("kustomize.toolkit.fluxcd.io/name"):
        namespace = found.get("kustomize.toolkit.fluxcd.io/namespace", "")
        return f"Flux Kustomization {namespace + '/' if namespace else ''}{name!r}"
    if release := found.get("helm.toolkit.fluxcd.io/name"):
        return f"Flux HelmRelease {release!r}"
    return "the GitOps tool that manages it"
