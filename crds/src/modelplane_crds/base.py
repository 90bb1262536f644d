"""The base every custom-resource model derives from.

Attributes are snake_case in Python and camelCase on the wire, the way Kubernetes users read and
write YAML. Unknown fields are rejected so that a typo in a manifest is an error, not a silently
ignored setting. The CRD generator, the operator, the webhooks and the facade all share these
models, so this is the one place the wire conventions are decided.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

GROUP = "modelplane.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


class K8sModel(BaseModel):
    """A part of a custom resource: camelCase on the wire, strict about unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )
