"""The generated CRD schemas are structural, documented, and bounded for CEL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelplane_crds.kinds import KINDS, Kind
from modelplane_crds.schema import build_crd, openapi_schema, rewrite
from tests.crds.support import committed_crd

Node = dict[str, Any]


def walk(node: Node, path: str = "") -> Iterator[tuple[str, Node]]:
    """Every schema node with its path."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")
    for branch in node.get("anyOf", []):
        yield from walk(branch, f"{path}|")


@pytest.fixture(params=KINDS, ids=lambda k: k.kind)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param  # type: ignore[no-any-return]


def test_every_generated_schema_is_structural(kind: Kind) -> None:
    schema = committed_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    problems = []
    for path, node in walk(schema):
        if "$ref" in node or "$defs" in node or "allOf" in node:
            problems.append(f"{path}: reference")
        if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            problems.append(f"{path}: anyOf outside int-or-string")
        if any(branch.get("type") == "null" for branch in node.get("anyOf", [])):
            problems.append(f"{path}: anyOf with null")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: additionalProperties beside properties")
        if "properties" in node and node.get("type") != "object":
            problems.append(f"{path}: properties without type object")
        if "uniqueItems" in node or "const" in node or "title" in node:
            problems.append(f"{path}: keyword the API server refuses")
        if path.endswith("|"):
            continue
        if "type" not in node and not node.get("x-kubernetes-int-or-string"):
            problems.append(f"{path}: no type")
    assert problems == []


def test_every_field_has_a_description_for_kubectl_explain(kind: Kind) -> None:
    schema = openapi_schema(kind)
    missing = [
        f"{path}.{name}"
        for path, node in walk(schema)
        for name, child in node.get("properties", {}).items()
        if name != "metadata" and not child.get("description", "").strip()
    ]
    assert missing == []


def test_every_list_has_a_bound_so_cel_cost_is_estimable(kind: Kind) -> None:
    unbounded = [
        path
        for path, node in walk(openapi_schema(kind)["properties"]["spec"])
        if node.get("type") == "array" and "maxItems" not in node
    ]
    assert unbounded == []


def test_conditions_are_a_list_map_keyed_by_type_with_apimachinery_rules(kind: Kind) -> None:
    conditions = openapi_schema(kind)["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) >= {"type", "status", "reason", "lastTransitionTime"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert item["properties"]["reason"]["pattern"].startswith("^[A-Za-z]")
    assert item["properties"]["reason"]["maxLength"] == 1024
    assert item["properties"]["type"]["maxLength"] == 316
    assert item["properties"]["lastTransitionTime"]["format"] == "date-time"


def test_every_status_records_the_observed_generation(kind: Kind) -> None:
    status = openapi_schema(kind)["properties"]["status"]["properties"]
    assert status["observedGeneration"]["type"] == "integer"


def test_crd_has_status_subresource_category_and_ready_columns(kind: Kind) -> None:
    crd = build_crd(kind)
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["names"]["categories"] == ["modelplane"]
    assert crd["spec"]["names"]["shortNames"]
    names = [column["name"] for column in version["additionalPrinterColumns"]]
    assert {"Ready", "Status", "Age"} <= set(names)


def test_model_version_spec_is_immutable_by_a_transition_rule() -> None:
    spec = openapi_schema(KINDS[1])["properties"]["spec"]
    assert any(rule["rule"] == "self == oldSelf" for rule in spec["x-kubernetes-validations"])


def test_rewriter_inlines_refs_and_field_keys_win_over_the_model() -> None:
    defs = {
        "Inner": {
            "title": "Inner",
            "type": "object",
            "description": "model text",
            "properties": {"a": {"type": "string", "title": "A"}},
            "additionalProperties": False,
        }
    }
    result = rewrite(
        {
            "properties": {"x": {"$ref": "#/$defs/Inner", "description": "field text"}},
            "type": "object",
        },
        defs,
    )
    assert result["properties"]["x"] == {
        "type": "object",
        "description": "field text",
        "properties": {"a": {"type": "string"}},
    }


def test_rewriter_collapses_optional_to_the_value_type_and_drops_null_default() -> None:
    result = rewrite(
        {
            "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
            "default": None,
            "description": "d",
        },
        {},
    )
    assert result == {"type": "integer", "minimum": 1, "description": "d"}


def test_rewriter_converts_const_exclusive_bounds_and_unique_items() -> None:
    assert rewrite({"const": "onnx", "type": "string"}, {}) == {"type": "string", "enum": ["onnx"]}
    assert rewrite({"type": "number", "exclusiveMinimum": 0}, {}) == {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
    }
    assert rewrite({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, {}) == {
        "type": "array",
        "items": {"type": "string"},
        "x-kubernetes-list-type": "set",
    }


def test_rewriter_keeps_scalar_defaults_and_drops_object_defaults() -> None:
    assert rewrite({"type": "integer", "default": 3}, {})["default"] == 3
    assert "default" not in rewrite({"type": "object", "properties": {}, "default": {"a": 1}}, {})


def test_rewriter_refuses_unions_and_recursion() -> None:
    with pytest.raises(ValueError, match="unions"):
        rewrite({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, {})
    with pytest.raises(ValueError, match="recursive"):
        rewrite(
            {"$ref": "#/$defs/Tree"},
            {"Tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Tree"}}}},
        )
