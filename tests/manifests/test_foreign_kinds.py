"""Objects of kinds whose CRDs the session's API server does not have (cert-manager's, Flux's):
checked against a minimal schema of the fields we use, written from the projects' API references
(cert-manager.io/v1, source.toolkit.fluxcd.io/v1, kustomize.toolkit.fluxcd.io/v1), so a typo or
a missing required field still fails. These are the only objects left out of the dry run."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft7Validator  # type: ignore[import-untyped]  # no stubs in the lock

from tests.manifests.support import (
    BUILDS,
    MANIFESTS,
    REPO_ROOT,
    Manifest,
    group_of,
    ident,
    render,
    render_path,
)
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


# Flux ------------------------------------------------------------------------------------------

FLUX = MANIFESTS / "gitops" / "flux"
_SOURCE_REF = {
    "type": "object",
    "required": ["kind", "name"],
    "properties": {"kind": {"enum": ["GitRepository", "OCIRepository", "Bucket"]}},
}
_HEALTH_CHECK = {
    "type": "object",
    "required": ["apiVersion", "kind", "name"],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "name": {"type": "string"},
        "namespace": {"type": "string"},
    },
    "additionalProperties": False,
}
_DURATION = {"type": "string", "pattern": r"^(\d+(ms|s|m|h))+$"}
SCHEMAS[("source.toolkit.fluxcd.io/v1", "GitRepository")] = _object(
    {
        "interval": _DURATION,
        "url": {"type": "string", "pattern": "^(https?|ssh)://"},
        "ref": {
            "type": "object",
            "minProperties": 1,
            "properties": {"branch": {"type": "string"}, "tag": {"type": "string"}},
        },
        "ignore": {"type": "string"},
    },
    ["interval", "url"],
)
SCHEMAS[("kustomize.toolkit.fluxcd.io/v1", "Kustomization")] = _object(
    {
        "interval": _DURATION,
        "retryInterval": _DURATION,
        "timeout": _DURATION,
        "path": {"type": "string", "pattern": r"^\./"},
        "prune": {"type": "boolean"},
        "sourceRef": _SOURCE_REF,
        "dependsOn": {
            "type": "array",
            "items": {"type": "object", "required": ["name"]},
        },
        "healthChecks": {"type": "array", "items": _HEALTH_CHECK, "minItems": 1},
    },
    ["interval", "prune", "sourceRef"],
)


def flux_objects() -> list[Manifest]:
    """The Flux example, rendered."""
    return render_path(FLUX)


@pytest.mark.parametrize("obj", flux_objects(), ids=ident)
def test_flux_example_has_the_shape_its_crds_require(obj: Manifest) -> None:
    assert schema_errors(obj) == []


def test_flux_deploys_the_prod_overlay_from_its_git_repository() -> None:
    objects = flux_objects()
    (source,) = [o for o in objects if o["kind"] == "GitRepository"]
    kustomizations = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Kustomization"}
    assert kustomizations["modelplane"]["spec"]["path"] == "./manifests/overlays/prod"
    for kustomization in kustomizations.values():
        ref = kustomization["spec"]["sourceRef"]
        assert ref["name"] == source["metadata"]["name"]
        assert kustomization["metadata"]["namespace"] == source["metadata"]["namespace"]
        for dependency in kustomization["spec"].get("dependsOn", []):
            assert dependency["name"] in kustomizations


def test_flux_health_checks_name_objects_their_path_renders() -> None:
    for kustomization in (o for o in flux_objects() if o["kind"] == "Kustomization"):
        rendered = render_path(REPO_ROOT / kustomization["spec"]["path"])
        present = {
            (o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
            for o in rendered
        }
        for check in kustomization["spec"]["healthChecks"]:
            key = (check["apiVersion"], check["kind"], check.get("namespace"), check["name"])
            assert key in present, f"{kustomization['metadata']['name']}: {check}"


def test_flux_checks_the_health_of_every_modelplane_object_it_applies() -> None:
    """A model's path: every Modelplane object is health-checked, so a Stalled one fails it."""
    for kustomization in (o for o in flux_objects() if o["kind"] == "Kustomization"):
        rendered = render_path(REPO_ROOT / kustomization["spec"]["path"])
        checked = {(c["kind"], c["name"]) for c in kustomization["spec"]["healthChecks"]}
        ours = {
            (o["kind"], o["metadata"]["name"]) for o in rendered if group_of(o) == "modelplane.io"
        }
        crds = {
            ("CustomResourceDefinition", o["metadata"]["name"])
            for o in rendered
            if o["kind"] == "CustomResourceDefinition"
        }
        assert ours | crds <= checked
