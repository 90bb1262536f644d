"""Turn the Pydantic models into CustomResourceDefinitions with structural schemas.

Pydantic writes JSON Schema (draft 2020-12); the API server wants an OpenAPI v3 *structural*
schema (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/
custom-resource-definitions/#specifying-a-structural-schema). The rewriter closes the gap:

- `$ref` / single-element `allOf` are inlined; field-level keys (description, default) win over
  the referenced model's;
- `anyOf` with a `null` branch becomes the other branch. Optional fields are *not* marked
  `nullable`: the API server then prunes an explicit `null` (`candidate: null` in Git means
  "unset"), and CEL's `has()` stays true only for fields that carry a value;
- `additionalProperties` beside `properties` is dropped (unknown fields are pruned, and
  `kubectl apply`'s strict field validation reports them), `uniqueItems` becomes
  `x-kubernetes-list-type: set`, `const` becomes a one-value `enum`, draft 2020 numeric
  `exclusiveMinimum` becomes OpenAPI's `minimum` + `exclusiveMinimum: true`, titles go;
- defaults are kept when they are scalars or lists of scalars (legal and useful for
  server-side defaulting); `null` and object defaults are dropped.
Pure functions: `generate.py` does the file I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelplane_crds.kinds import CATEGORY, Kind

Schema = dict[str, Any]

_DROPPED_KEYS = frozenset({"title", "$defs", "examples", "readOnly", "writeOnly", "deprecated"})
_STANDARD_FIELDS: Schema = {
    "apiVersion": {
        "type": "string",
        "description": "APIVersion defines the versioned schema of this representation of an "
        "object: modelplane.io/v1alpha1.",
    },
    "kind": {
        "type": "string",
        "description": "Kind is a string value representing the REST resource this object "
        "represents.",
    },
    "metadata": {"type": "object"},
}


def normalize_description(text: str) -> str:
    """Join the lines of each paragraph, keep paragraph breaks: kubectl explain wraps itself."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _resolve(name: str, defs: Mapping[str, Schema], seen: frozenset[str]) -> Schema:
    if name in seen:
        raise ValueError(f"recursive model {name} cannot be a structural schema")
    return rewrite(defs[name], defs, seen | {name})


def rewrite(node: Schema, defs: Mapping[str, Schema], seen: frozenset[str] = frozenset()) -> Schema:
    """Rewrite one JSON Schema node (and everything below it) into a structural schema."""
    own = {k: v for k, v in node.items() if k not in _DROPPED_KEYS}
    base: Schema = {}
    if "$ref" in own:
        base = _resolve(str(own.pop("$ref")).rsplit("/", 1)[-1], defs, seen)
    if "allOf" in own:
        parts = own.pop("allOf")
        if len(parts) != 1:
            raise ValueError(f"allOf with {len(parts)} parts is not supported")
        base = rewrite(parts[0], defs, seen)
    if "anyOf" in own:
        branches = [b for b in own.pop("anyOf") if b.get("type") != "null"]
        if own.get("x-kubernetes-int-or-string"):
            own["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        elif len(branches) == 1:
            base = rewrite(branches[0], defs, seen)
        else:
            raise ValueError(f"unions are not structural: {branches}")
    result: Schema = {**base}
    for key, value in own.items():
        result[key] = _rewrite_keyword(key, value, defs, seen)
    return _finish(result)


def _rewrite_keyword(key: str, value: Any, defs: Mapping[str, Schema], seen: frozenset[str]) -> Any:
    if key == "properties":
        return {name: rewrite(sub, defs, seen) for name, sub in value.items()}
    if key == "items" or (key == "additionalProperties" and isinstance(value, dict)):
        return rewrite(value, defs, seen)
    if key == "description":
        return normalize_description(value)
    return value


def _finish(node: Schema) -> Schema:
    if "properties" in node:
        node.pop("additionalProperties", None)
        node["type"] = "object"
    elif node.get("additionalProperties") is True:
        node.pop("additionalProperties")
        node["x-kubernetes-preserve-unknown-fields"] = True
    elif node.get("additionalProperties") is False:
        node.pop("additionalProperties")
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if exclusive in node and not isinstance(node[exclusive], bool):
            node[bound] = node.pop(exclusive)
            node[exclusive] = True
    if node.pop("uniqueItems", False) and _is_scalar_schema(node.get("items", {})):
        node.setdefault("x-kubernetes-list-type", "set")
    if "default" in node:
        default = node["default"]
        keep = default is not None and (
            _is_scalar(default)
            or (isinstance(default, list) and all(_is_scalar(v) for v in default))
        )
        if not keep:
            node.pop("default")
    if node.get("required") == []:
        node.pop("required")
    return node


def _is_scalar_schema(node: Schema) -> bool:
    return node.get("type") in {"string", "integer", "number", "boolean"}


def openapi_schema(kind: Kind) -> Schema:
    """The structural `openAPIV3Schema` of a kind, generated from its Pydantic model."""
    raw = kind.model.model_json_schema(by_alias=True, mode="validation")
    schema = rewrite(raw, raw.get("$defs", {}))
    schema["properties"] = {**schema["properties"], **_STANDARD_FIELDS}
    schema["required"] = [r for r in schema.get("required", []) if r not in _STANDARD_FIELDS]
    return schema


def build_crd(kind: Kind) -> Schema:
    """The complete CustomResourceDefinition of a kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name},
        "spec": {
            "group": kind.group,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "scope": kind.scope,
            "versions": [
                {
                    "name": kind.version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [c.to_crd() for c in kind.columns],
                    "schema": {"openAPIV3Schema": openapi_schema(kind)},
                }
            ],
        },
    }
