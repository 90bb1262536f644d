"""Admission validation and defaulting as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from modelplane_webhooks.defaulting import (
    cpu_cores,
    default_drift_monitor,
    default_model_deployment,
    default_model_version,
)
from modelplane_webhooks.errors import AdmissionDenied, Violation, denial_message
from modelplane_webhooks.validation import (
    image_allowed,
    validate_drift_monitor,
    validate_model_deployment,
    validate_model_version,
)

ORG_NS = "mp-acme"
ORG_LABELS = {"modelplane.io/organization": "acme"}
ALLOW = ["ghcr.io/modelplane/", "registry.example.com/serving/runtime", "quay.io/x/y:1.0"]


def make_version(stalled: str | None = None) -> dict[str, Any]:
    conditions = []
    if stalled:
        conditions.append(
            {
                "type": "Stalled",
                "status": "True",
                "reason": stalled,
                "message": "bad",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        )
    return {"spec": {"modelName": "fraud"}, "status": {"conditions": conditions}}


def make_deployment(
    stable: str = "fraud-v1",
    candidate: str | None = None,
    image: str | None = None,
    environment: str = "staging",
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "environment": environment,
        "stable": {"modelVersionRef": {"name": stable}},
    }
    if candidate:
        spec["candidate"] = {"modelVersionRef": {"name": candidate}}
    if image:
        spec["runtime"] = {"image": image}
    spec.update(extra)
    return {"metadata": {"name": "d", "namespace": ORG_NS}, "spec": spec}


def check(body: dict[str, Any], **kwargs: Any) -> list[Violation]:
    options: dict[str, Any] = {"versions": {"fraud-v1": make_version()}, "image_allowlist": ALLOW}
    options.update(kwargs)
    return validate_model_deployment(body, ORG_NS, ORG_LABELS, **options)


def test_valid_deployment_in_an_org_namespace_is_admitted() -> None:
    assert check(make_deployment()) == []


def test_reference_to_another_namespace_is_denied_with_a_readable_message() -> None:
    found = check(make_deployment(stable="mp-other/fraud-v1"))
    assert [v.field for v in found] == ["spec.stable.modelVersionRef"]
    assert "references never cross namespaces" in found[0].message
    assert "mp-other/fraud-v1" in found[0].message


def test_explicit_namespace_key_in_a_reference_is_denied() -> None:
    body = make_deployment()
    body["spec"]["stable"]["modelVersionRef"]["namespace"] = "mp-other"
    assert "cross namespaces" in check(body)[0].message


def test_reference_to_a_missing_version_is_denied() -> None:
    found = check(make_deployment(stable="ghost"), versions={"ghost": None})
    assert "'ghost' not found in namespace 'mp-acme'" in found[0].message


def test_reference_to_a_stalled_version_is_denied_with_its_reason() -> None:
    found = check(
        make_deployment(candidate="fraud-v2"),
        versions={"fraud-v1": make_version(), "fraud-v2": make_version("DigestMismatch")},
    )
    assert [v.field for v in found] == ["spec.candidate.modelVersionRef"]
    assert "Stalled" in found[0].message
    assert "DigestMismatch" in found[0].message


def test_references_the_stored_object_already_had_are_not_rechecked() -> None:
    old = make_deployment()
    body = make_deployment(scaling={"replicas": 3})
    assert check(body, old=old, versions={"fraud-v1": make_version("DigestMismatch")}) == []


@pytest.mark.parametrize(
    ("image", "allowed"),
    [
        ("ghcr.io/modelplane/serving-runtime:0.1.0", True),
        ("ghcr.io/modelplane/serving-runtime@sha256:" + "a" * 64, True),
        ("ghcr.io/modelplane-evil/serving-runtime:0.1.0", False),
        ("registry.example.com/serving/runtime:2", True),
        ("registry.example.com/serving/runtime-debug:2", False),
        ("quay.io/x/y:1.0", True),
        ("quay.io/x/y:1.1", False),
        ("docker.io/library/python:3.11", False),
    ],
)
def test_image_allow_list_matches_prefixes_repositories_and_exact_images(
    image: str, allowed: bool
) -> None:
    assert image_allowed(image, ALLOW) is allowed


def test_disallowed_image_is_denied_naming_the_allow_list() -> None:
    found = check(make_deployment(image="docker.io/evil/miner:latest"))
    assert found[0].field == "spec.runtime.image"
    assert "not on the platform's image allow-list" in found[0].message
    assert "ghcr.io/modelplane/" in found[0].message


def test_resources_outside_org_namespaces_are_denied() -> None:
    found = validate_model_deployment(
        make_deployment(), "default", {}, versions={}, image_allowlist=ALLOW
    )
    assert found[0].field == "metadata.namespace"
    assert "organization namespace" in found[0].message
    assert validate_model_version({"spec": {}}, "default", None)[0].field == "metadata.namespace"
    monitor = {"spec": {"deploymentRef": {"name": "d"}}}
    assert validate_drift_monitor(monitor, "kube-system", {})[0].field == "metadata.namespace"


def test_drift_monitor_watching_another_namespace_is_denied() -> None:
    monitor = {"spec": {"deploymentRef": {"name": "mp-other/d"}}}
    found = validate_drift_monitor(monitor, ORG_NS, ORG_LABELS)
    assert found[0].field == "spec.deploymentRef"


def test_malformed_model_version_spec_is_reported_not_crashed() -> None:
    found = validate_model_version({"spec": {"modelName": "x"}}, ORG_NS, ORG_LABELS)
    assert found
    assert all(v.field.startswith("spec.") for v in found)


@pytest.mark.parametrize(
    ("groups", "admins", "privileged", "denied"),
    [
        (["acme-devs"], ["acme-admins"], False, True),
        (["acme-admins"], ["acme-admins"], False, False),
        (["system:masters"], [], False, False),
        ([], [], True, False),
    ],
)
def test_changing_production_needs_the_org_admin_role(
    groups: list[str], admins: list[str], privileged: bool, denied: bool
) -> None:
    found = check(
        make_deployment(environment="production"),
        user_groups=groups,
        admin_groups=admins,
        privileged=privileged,
    )
    assert any(v.field == "spec.environment" for v in found) is denied


def test_staging_changes_need_no_admin_role() -> None:
    assert check(make_deployment(), user_groups=["acme-devs"], admin_groups=["acme-admins"]) == []


def test_denial_message_joins_every_violation() -> None:
    violations = [Violation("a", "first"), Violation("b", "second")]
    assert denial_message(violations) == "a: first; b: second"
    assert str(AdmissionDenied(violations)) == "a: first; b: second"


def test_model_version_gets_model_and_organization_labels() -> None:
    body = {"metadata": {"labels": {"team": "x"}}, "spec": {"modelName": "fraud"}}
    assert default_model_version(body, "acme") == {
        "metadata": {
            "labels": {"modelplane.io/model": "fraud", "modelplane.io/organization": "acme"}
        }
    }


def test_labels_already_right_are_left_alone() -> None:
    body = {
        "metadata": {
            "labels": {"modelplane.io/model": "fraud", "modelplane.io/organization": "acme"}
        },
        "spec": {"modelName": "fraud"},
    }
    assert default_model_version(body, "acme") == {}
    assert default_drift_monitor(body, "acme") == {}


def test_deployment_gets_labels_image_and_threads_from_the_cpu_limit() -> None:
    body = make_deployment(resources={"limits": {"cpu": "1500m"}})
    patch = default_model_deployment(body, "acme", model_name="fraud", default_image="img:1")
    assert patch["metadata"]["labels"] == {
        "modelplane.io/model": "fraud",
        "modelplane.io/organization": "acme",
    }
    assert patch["spec"] == {"runtime": {"image": "img:1", "intraOpThreads": 2}}


def test_explicit_runtime_settings_are_kept() -> None:
    body = make_deployment(image="ghcr.io/modelplane/x:1")
    body["spec"]["runtime"]["intraOpThreads"] = 4
    patch = default_model_deployment(body, None, model_name=None, default_image="img:1")
    assert "spec" not in patch


@pytest.mark.parametrize(
    ("quantity", "cores"), [("500m", 1), ("2", 2), (3, 3), ("2.5", 3), (None, None), ("x", None)]
)
def test_cpu_quantity_rounds_up_to_whole_cores(quantity: Any, cores: int | None) -> None:
    assert cpu_cores(quantity) == cores
