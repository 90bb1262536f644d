"""Label and annotation keys that several components read and write.

The operator stamps them, the webhooks check and default them, the facade filters by them; they
live here, beside the kinds, so every component spells them the same way.
"""

from __future__ import annotations

ORGANIZATION = "modelplane.io/organization"
"""On an org namespace and every resource in it: the organization's name (its slug)."""

MODEL = "modelplane.io/model"
"""On ModelVersions and ModelDeployments: the model's name (`spec.modelName` of the version)."""

MANAGED_BY = "modelplane.io/managed-by"
"""On an org namespace: `gitops` when a GitOps tool owns the organization's resources."""

GITOPS = "gitops"
"""The value of `modelplane.io/managed-by` for GitOps-managed organizations."""

PLATFORM_NAMESPACE = "modelplane.io/platform"
"""On the namespace the platform itself runs in (operator, facade): `"true"`. Org namespaces'
network policies admit the facade, the operator and Prometheus from it."""

APP_NAME = "app.kubernetes.io/name"
"""The standard label naming the platform's own pods (`modelplane-api`, `modelplane-operator`,
`modelplane-prometheus`); org network policies admit those of the platform namespace."""

APP_MANAGED_BY = "app.kubernetes.io/managed-by"
"""The standard label on every object the operator creates; its value is `modelplane-operator`."""
