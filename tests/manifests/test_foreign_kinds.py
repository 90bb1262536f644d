"""Objects of kinds whose CRDs the session's API server does not have (cert-manager's, Flux's):
checked against a minimal schema of the fields we use, written from the projects' API references
(cert-manager.io/v1, source.toolkit.fluxcd.io/v1, kustomize.toolkit.fluxcd.io/v1), so a typo or
a missing required field still fails. These are the only objects left out of the dry run."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft7Validator  # type: ignore[import-untyped]  # no stubs in the lock

from tests.manifests.support import BUILDS, Manifest, group_of, ident, render
from tests.manifests.test_api_server import FOREIGN_GROUPS


def _object(spec: dict[str, Any], required: list[str], **rules: Any) -> dict[str, Any]:
    """A namespaced object whose spec has exactly `spec`'s fields, `required` among them."""
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "metadata": {
                "type": "object",
                "required": ["name", "namespace"],
                "properties": {"name": {"type": "string", "minLength": 1}},
            },
            "spec": {
                "type": "object",
                "required": required,
                "properties": spec,
                "additionalProperties": False,
                **rules,
            },
        },
    }


_REF = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string"}, "kind": {"enum": ["Issuer", "ClusterIssuer"]}},
    "additionalProperties": False,
}
_KEY = {
    "type": "object",
    "properties": {
        "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
        "size": {"type": "integer"},
        "rotationPolicy": {"enum": ["Never", "Always"]},
    },
    "additionalProperties": False,
}
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("cert-manager.io/v1", "Issuer"): _object(
        {
            "selfSigned": {"type": "object"},
            "ca": {
                "type": "object",
                "required": ["secretName"],
                "properties": {"secretName": {"type": "string", "minLength": 1}},
            },
        },
        [],
        minProperties=1,  # exactly one issuer type
        maxProperties=1,
    ),
    ("cert-manager.io/v1", "Certificate"): _object(
        {
            "secretName": {"type": "string", "minLength": 1},
            "commonName": {"type": "string"},
            "isCA": {"type": "boolean"},
            "dnsNames": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "duration": {"type": "string", "pattern": r"^\d+h$"},
            "renewBefore": {"type": "string", "pattern": r"^\d+h$"},
            "issuerRef": _REF,
            "privateKey": _KEY,
        },
        ["secretName", "issuerRef"],
    ),
}


def foreign_objects() -> list[Manifest]:
    """Every object of the builds the dry run leaves out."""
    found = {ident(o): o for b in BUILDS for o in render(b) if group_of(o) in FOREIGN_GROUPS}
    return list(found.values())


def schema_errors(obj: Manifest) -> list[str]:
    """Problems of one foreign object against its minimal schema."""
    schema = SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    if schema is None:
        return [f"no schema for {obj['apiVersion']} {obj['kind']}"]
    return [
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(obj)
    ]


def test_the_dry_run_leaves_out_only_cert_manager_objects_of_prod() -> None:
    kinds = {(group_of(o), o["kind"]) for o in foreign_objects()}
    assert kinds == {("cert-manager.io", "Issuer"), ("cert-manager.io", "Certificate")}


@pytest.mark.parametrize("obj", foreign_objects(), ids=ident)
def test_foreign_object_has_the_shape_its_crd_requires(obj: Manifest) -> None:
    assert schema_errors(obj) == []


def test_the_minimal_schemas_catch_a_typo() -> None:
    certificate = next(o for o in foreign_objects() if o["kind"] == "Certificate")
    certificate["spec"]["dnsName"] = certificate["spec"].pop("dnsNames")
    assert schema_errors(certificate)
