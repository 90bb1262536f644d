"""The base every custom-resource model derives from.

Attributes are snake_case in Python and camelCase on the wire, the way Kubernetes users read and
write YAML. Unknown fields are rejected so that a typo in a manifest is an error, not a silently
ignored setting. The CRD generator, the operator, the webhooks and the facade all share these
models, so this is the one place the wire conventions are decided.

Cross-field rules are declared once per model as `Rule`s: each carries the CEL expression the API
server evaluates (`x-kubernetes-validations` in the generated CRD) and, where it can be expressed
without the old object, its Python twin, so the facade and the webhooks reject the same objects
before they ever reach the API server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel, to_snake
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

GROUP = "modelplane.io"
VERSION = "v1alpha1"
API_VERSION: Final = "modelplane.io/v1alpha1"

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""RFC 1123 label: what Kubernetes accepts as a name of most objects and as a label value."""

SHA256 = r"^[a-f0-9]{64}$"
"""A hex-encoded SHA-256 digest in lower case, as `sha256sum` prints it."""

DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
"""A Go duration without sign, as Kubernetes and Flux write them: `30s`, `5m`, `1h30m`."""

QUANTITY = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
"""A Kubernetes resource quantity (`500m`, `2Gi`, `4`), the pattern apimachinery generates."""

Duration = Annotated[str, StringConstraints(pattern=DURATION, max_length=32)]
Quantity = Annotated[
    int | Annotated[str, StringConstraints(pattern=QUANTITY, max_length=64)],
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY,
            "x-kubernetes-int-or-string": True,
        }
    ),
]


@dataclass(frozen=True)
class Rule:
    """A validation rule: CEL for the API server, an optional Python twin for everyone else."""

    cel: str
    message: str
    field_path: str | None = None
    check: Callable[[Any], bool] | None = None

    def to_schema(self) -> dict[str, str]:
        """The `x-kubernetes-validations` entry for this rule."""
        entry = {"rule": self.cel, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        return entry


class K8sModel(BaseModel):
    """A part of a custom resource: camelCase on the wire, strict about unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )

    cel_rules: ClassVar[tuple[Rule, ...]] = ()

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for rule in type(self).cel_rules:
            if rule.check is not None and not rule.check(self):
                where = f"{rule.field_path.lstrip('.')}: " if rule.field_path else ""
                raise ValueError(f"{where}{rule.message}")
        self._check_list_map_keys()
        return self

    def _check_list_map_keys(self) -> None:
        """Lists marked `x-kubernetes-list-type: map` hold each key once, as the API server
        enforces; report the first duplicate the way it does (`inputs[1]`)."""
        for name, field in type(self).model_fields.items():
            extra = field.json_schema_extra
            if not isinstance(extra, dict) or extra.get("x-kubernetes-list-type") != "map":
                continue
            declared = extra.get("x-kubernetes-list-map-keys")
            keys = [str(k) for k in declared] if isinstance(declared, list) else []
            seen: set[tuple[Any, ...]] = set()
            for index, item in enumerate(getattr(self, name)):
                key = tuple(getattr(item, to_snake(k)) for k in keys)
                if key in seen:
                    alias = field.alias or name
                    shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, key, strict=True))
                    raise ValueError(f"{alias}[{index}]: duplicate entry with {shown}")
                seen.add(key)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if cls.cel_rules:
            target = handler.resolve_ref_schema(schema)
            target["x-kubernetes-validations"] = [rule.to_schema() for rule in cls.cel_rules]
        return schema

    def to_wire(self) -> dict[str, Any]:
        """The object as Kubernetes expects it: camelCase keys, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class LocalObjectReference(K8sModel):
    """A reference to another object of a known kind in the same namespace."""

    name: str = Field(min_length=1, max_length=253)
    """Name of the referenced object. References never cross namespaces: the object must live in
    the same organization namespace as the one that refers to it."""


class SecretKeySelector(K8sModel):
    """A key inside a Secret in the same namespace."""

    name: str = Field(min_length=1, max_length=253)
    """Name of the Secret."""

    key: str = Field(min_length=1, max_length=253)
    """Key inside the Secret's data whose value is used."""


class ObjectMeta(BaseModel):
    """The Kubernetes object metadata the models read; every other metadata field is kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, exclude_if=lambda v: not v)
    annotations: dict[str, str] = Field(default_factory=dict, exclude_if=lambda v: not v)
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
