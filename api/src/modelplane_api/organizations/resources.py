"""Pure builders of the Kubernetes objects an organization owns (no I/O)."""

from __future__ import annotations

from typing import Any

from modelplane_api.cluster import FIELD_MANAGER
from modelplane_api.organizations.models import Organization
from modelplane_crds.base import ObjectMeta
from modelplane_crds.organization import Organization as OrganizationResource
from modelplane_crds.organization import OrganizationSpec

ORGANIZATION_ID_ANNOTATION = "modelplane.io/organization-id"


def build_organization_resource(org: Organization) -> dict[str, Any]:
    """The `Organization` custom resource the facade applies for a row."""
    resource = OrganizationResource(
        metadata=ObjectMeta(
            name=org.slug,
            labels={"app.kubernetes.io/managed-by": FIELD_MANAGER},
            annotations={ORGANIZATION_ID_ANNOTATION: str(org.id)},
        ),
        spec=OrganizationSpec(display_name=org.display_name[:253], slug=org.slug),
    )
    return resource.model_dump(by_alias=True, exclude_none=True, mode="json")
