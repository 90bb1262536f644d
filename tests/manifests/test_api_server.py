"""Every object of every build validates against the real API server of the test session: offline
against its OpenAPI v3 schemas (strict: no unknown fields), then by a server-side dry run. The
CRDs are applied for real first (objects of their kinds need them), and the platform namespace
too (a dry run cannot create a namespace for the objects inside it).

Kinds from CRDs this cluster does not have (cert-manager, Flux) are left out of the dry run only;
test_foreign_kinds.py checks their shape.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Kubectl
from tests.manifests.openapi import OpenApi, crd_validator, errors, is_modelplane
from tests.manifests.support import BUILDS, Manifest, find, group_of, ident, render
from tests.operator.support import wait_established

FOREIGN_GROUPS = {"cert-manager.io", "source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"}
"""Groups whose CRDs the session's API server does not have; their objects get a shape check."""


@pytest.fixture(params=sorted(BUILDS))
def build(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def openapi(kubectl: Kubectl) -> OpenApi:
    return OpenApi(lambda path: kubectl("get", "--raw", path).stdout)


def _as_list(objects: list[Manifest]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})


@pytest.fixture(scope="module")
def installed(kubectl: Kubectl) -> None:
    """The CRDs and namespaces of every build, applied for real and established."""
    objects = {
        ident(o): o
        for b in BUILDS
        for o in render(b)
        if o["kind"] in {"CustomResourceDefinition", "Namespace"}
    }
    kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        "-",
        input=_as_list(list(objects.values())),
    )
    crds = [
        f"crd/{o['metadata']['name']}"
        for o in objects.values()
        if o["kind"] == "CustomResourceDefinition"
    ]
    wait_established(kubectl, *crds)


def test_every_object_validates_against_the_api_servers_schemas(
    build: str, openapi: OpenApi
) -> None:
    problems: dict[str, list[str]] = {}
    unknown = []
    for obj in render(build):
        if group_of(obj) in FOREIGN_GROUPS:
            continue
        validator = crd_validator(obj) if is_modelplane(obj) else openapi.validator(obj)
        if validator is None:
            unknown.append(ident(obj))
            continue
        found = errors(validator, obj)
        if found:
            problems[ident(obj)] = found
    assert unknown == []
    assert problems == {}


def test_offline_validation_rejects_an_unknown_field(openapi: OpenApi) -> None:
    deployment = next(o for o in render("base") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    found = errors(openapi.validator(deployment), deployment)
    assert any("readOnlyRootFileSystem" in e for e in found), found


def test_every_object_passes_a_server_side_dry_run(
    build: str, kubectl: Kubectl, installed: None
) -> None:
    objects = [o for o in render(build) if group_of(o) not in FOREIGN_GROUPS]
    result = kubectl("apply", "--dry-run=server", "-f", "-", input=_as_list(objects), check=False)
    assert result.returncode == 0, result.stderr
    # modelplane-system enforces the restricted Pod Security Standard: the API server warns
    # about a workload whose pods it would refuse.
    assert "PodSecurity" not in result.stderr, result.stderr
    applied = {line.split()[0] for line in result.stdout.splitlines() if "(server dry run)" in line}
    assert len(applied) == len(objects), result.stdout


def test_the_api_server_warns_about_pods_the_namespace_would_refuse(
    kubectl: Kubectl, installed: None
) -> None:
    deployment = find(render("base"), "Deployment", "modelplane-api")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"].pop(
        "allowPrivilegeEscalation"
    )
    result = kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(deployment))
    assert "would violate PodSecurity" in result.stderr
