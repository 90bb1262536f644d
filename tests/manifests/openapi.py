"""Offline validation of rendered objects against JSON schemas.

Built-in kinds are checked against the OpenAPI v3 documents the session's real kube-apiserver
serves (`/openapi/v3/apis/<group>/<version>`), made strict: an object schema with properties
admits no other keys, as the API server's strict field validation does. Modelplane's kinds are
checked against the generated CRD schemas (tests/crds/support.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # no stubs in the lock

from tests.crds.support import committed_schema
from tests.manifests.support import Manifest, group_of

GetRaw = Callable[[str], str]


def _strict(schema: Any) -> Any:
    """A copy in which objects with properties forbid unknown keys and int-or-string admits both
    (walking schema keywords only: a property may be named `format` or `properties`)."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: _strict(v) for k, v in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _strict(out["additionalProperties"])
    if "items" in out:
        out["items"] = _strict(out["items"])
    for keyword in ("allOf", "anyOf", "oneOf"):
        if keyword in out:
            out[keyword] = [_strict(s) for s in out[keyword]]
    if out.get("x-kubernetes-int-or-string") or out.get("format") == "int-or-string":
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable"):
        out.pop("type", None)
    return out


class OpenApi:
    """Schemas of the built-in kinds, fetched from the API server once per group-version."""

    def __init__(self, get_raw: GetRaw) -> None:
        self._get_raw = get_raw
        self._paths: dict[str, str] = {
            path: entry["serverRelativeURL"]
            for path, entry in json.loads(get_raw("/openapi/v3"))["paths"].items()
        }
        self._documents: dict[str, Manifest] = {}

    def _document(self, api_version: str) -> Manifest | None:
        path = f"api/{api_version}" if "/" not in api_version else f"apis/{api_version}"
        if path not in self._paths:
            return None
        if path not in self._documents:
            document = json.loads(self._get_raw(self._paths[path]))
            schemas = document["components"]["schemas"]
            strict = {name: _strict(schema) for name, schema in schemas.items()}
            self._documents[path] = {"components": {"schemas": strict}}
        return self._documents[path]

    def validator(self, obj: Manifest) -> Any | None:
        """A validator for the object's kind; None when the server does not know the group."""
        document = self._document(obj["apiVersion"])
        if document is None:
            return None
        group, _, version = obj["apiVersion"].rpartition("/")
        for name, schema in document["components"]["schemas"].items():
            for gvk in schema.get("x-kubernetes-group-version-kind", []):
                if (gvk["group"], gvk["version"], gvk["kind"]) == (group, version, obj["kind"]):
                    root = {**document, "$ref": f"#/components/schemas/{name}"}
                    return Draft4Validator(root)
        return None


def crd_validator(obj: Manifest) -> Any:
    """A validator of one of Modelplane's kinds, from its committed CRD schema."""
    schema = copy.deepcopy(committed_schema(obj["kind"]))
    return Draft4Validator(schema)


def errors(validator: Any, obj: Manifest) -> list[str]:
    """Each validation error as `path: message`."""
    return [
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(obj)
    ]


MODELPLANE_GROUP = "modelplane.io"


def is_modelplane(obj: Manifest) -> bool:
    """One of the kinds whose CRDs are generated from crds/."""
    return group_of(obj) == MODELPLANE_GROUP
