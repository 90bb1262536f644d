"""The facade's ServiceAccount (manifests/base/api) on the real API server: it may act as
Modelplane's callers on Modelplane's namespaced kinds, and as nobody else on anything else.

Constrained impersonation (KEP-5284) is beta and on by default in the local API server
(v1.36): these tests are also the proof that the server has it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.conftest import Kubectl
from tests.operator.support import bind_role_groups, facade_kubeconfig, install_crds

AsFacade = Callable[..., CompletedProcess[str]]


@pytest.fixture(scope="module")
def slug(kubectl: Kubectl) -> str:
    install_crds(kubectl)
    slug = f"rbac-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", f"mp-{slug}")
    bind_role_groups(kubectl, slug)
    return slug


@pytest.fixture(scope="module")
def as_facade(
    slug: str, kubectl: Kubectl, kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsFacade:
    """kubectl authenticated as the facade's ServiceAccount (a bearer token, no certificate)."""
    path = facade_kubeconfig(kubeconfig, tmp_path_factory.mktemp("facade") / "config")

    def run(*args: str, input: str | None = None) -> CompletedProcess[str]:
        return kubectl(*args, input=input, check=False, extra_env={"KUBECONFIG": str(path)})

    return run


def _url(slug: str, plural: str, group: str = "modelplane.io/v1alpha1") -> str:
    """A collection's path; calls go `--raw` because kubectl's discovery (`/api`, `/apis`) is
    not a Modelplane kind and so not something an impersonated call may read."""
    prefix = "/api/v1" if group == "v1" else f"/apis/{group}"
    return f"{prefix}/namespaces/mp-{slug}/{plural}"


def _person(slug: str, role: str) -> list[str]:
    return [f"--as=modelplane:user:{uuid.uuid4()}", f"--as-group=modelplane:org:{slug}:{role}"]


def _monitor(slug: str, name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "modelplane.io/v1alpha1",
            "kind": "DriftMonitor",
            "metadata": {"name": name, "namespace": f"mp-{slug}"},
            "spec": {"deploymentRef": {"name": "fraud"}, "schedule": "*/15 * * * *"},
        }
    )


def test_the_facade_acts_as_a_developer_on_modelplane_kinds(slug: str, as_facade: AsFacade) -> None:
    developer = _person(slug, "developer")
    listed = as_facade("get", "--raw", _url(slug, "modelversions"), *developer)
    assert listed.returncode == 0, listed.stderr
    created = as_facade(
        "create", "--raw", _url(slug, "driftmonitors"), "-f", "-", *developer,
        input=_monitor(slug, "dev-monitor"),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr


def test_a_viewer_carried_by_the_facade_is_refused_by_rbac_itself(
    slug: str, as_facade: AsFacade
) -> None:
    viewer = _person(slug, "viewer")
    result = as_facade(
        "create", "--raw", _url(slug, "driftmonitors"), "-f", "-", *viewer,
        input=_monitor(slug, "viewer-monitor"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "modelplane:user:" in result.stderr  # RBAC judged the person …
    assert "cannot create resource" in result.stderr  # … and refused them
    assert "impersonate" not in result.stderr


def test_the_facade_cannot_impersonate_system_masters(slug: str, as_facade: AsFacade) -> None:
    result = as_facade(
        "get", "--raw", _url(slug, "modelversions"), "--as=someone", "--as-group=system:masters"
    )
    assert result.returncode != 0
    assert "system:masters" in result.stderr


def test_the_facade_cannot_impersonate_a_service_account(slug: str, as_facade: AsFacade) -> None:
    result = as_facade(
        "get",
        "--raw",
        _url(slug, "modelversions"),
        "--as=system:serviceaccount:modelplane-system:modelplane-operator",
    )
    assert result.returncode != 0
    assert "impersonate" in result.stderr


def test_an_impersonated_call_reaches_nothing_but_modelplane_kinds(
    slug: str, as_facade: AsFacade
) -> None:
    for url in (
        _url(slug, "pods", "v1"),
        _url(slug, "secrets", "v1"),
        _url(slug, "rolebindings", "rbac.authorization.k8s.io/v1"),
    ):
        result = as_facade("get", "--raw", url, *_person(slug, "admin"))
        assert result.returncode != 0, url
        assert "impersonate" in result.stderr, result.stderr


def test_the_facade_as_itself_cannot_write_into_an_organization(
    slug: str, as_facade: AsFacade
) -> None:
    result = as_facade(
        "create", "--raw", _url(slug, "driftmonitors"), "-f", "-",
        input=_monitor(slug, "own-monitor"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "system:serviceaccount:modelplane-system:modelplane-api" in result.stderr


def test_the_facade_as_itself_may_recreate_a_registry_version_and_write_nothing_else(
    slug: str, as_facade: AsFacade
) -> None:
    """Its background reconciliation re-applies a ModelVersion deleted behind its back: a
    server-side apply that creates, which the API server authorizes as `create`."""

    def may(verb: str, resource: str) -> bool:
        asked = as_facade("auth", "can-i", verb, f"{resource}.modelplane.io", "-n", f"mp-{slug}")
        return asked.returncode == 0

    assert may("create", "modelversions")
    assert may("patch", "modelversions")
    assert not may("create", "modeldeployments")
    assert not may("patch", "modeldeployments")
    assert not may("create", "driftmonitors")
