"""The shipped manifests agree with the code: webhook paths are the registered kopf handler ids,
the operator may patch the status it writes, and the three org roles nest as documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kopf
import yaml

from modelplane_operator.settings import Settings
from modelplane_operator.startup import register

BASE = Path(__file__).resolve().parents[2] / "manifests" / "base"


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def by_name(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in documents(path) if d["kind"] == kind}


def test_webhook_paths_are_exactly_the_registered_admission_handlers() -> None:
    registry = kopf.OperatorRegistry()
    register(registry, Settings(webhook_mode="managed"))
    handler_ids = {h.id for h in registry._webhooks.get_all_handlers()}
    paths = {
        hook["clientConfig"]["service"]["path"].lstrip("/")
        for doc in documents(BASE / "webhook" / "webhook.yaml")
        if doc["kind"].endswith("WebhookConfiguration")
        for hook in doc["webhooks"]
    }
    assert paths == handler_ids


def test_no_admission_handlers_when_webhooks_are_off() -> None:
    registry = kopf.OperatorRegistry()
    register(registry, Settings(webhook_mode="off"))
    assert list(registry._webhooks.get_all_handlers()) == []


def _verbs(role: dict[str, Any], group: str, resource: str) -> set[str]:
    return {
        verb
        for rule in role["rules"]
        if group in rule["apiGroups"] and resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_operator_can_patch_the_status_it_writes_and_nothing_cluster_admin_like() -> None:
    role = by_name(BASE / "operator" / "rbac.yaml", "ClusterRole")["modelplane-operator"]
    for resource in ("organizations/status", "modelversions/status"):
        assert "patch" in _verbs(role, "modelplane.io", resource)
    assert "create" not in _verbs(role, "modelplane.io", "modelversions")
    assert all("*" not in rule["verbs"] and "*" not in rule["resources"] for rule in role["rules"])
    # Secrets: written (each drift job's own credentials), never read.
    assert _verbs(role, "", "secrets") == {"create", "patch"}


def test_org_roles_nest_viewer_in_developer_in_admin() -> None:
    roles = by_name(BASE / "rbac" / "clusterroles.yaml", "ClusterRole")
    for name in ("modelplane-viewer", "modelplane-developer", "modelplane-admin"):
        assert "aggregationRule" in roles[name]

    def aggregated_into(rules: str) -> set[str]:
        labels = roles[rules]["metadata"]["labels"]
        return {k.split("aggregate-to-")[1] for k, v in labels.items() if "aggregate-to-" in k}

    assert aggregated_into("modelplane-viewer-rules") == {"viewer", "developer", "admin"}
    assert aggregated_into("modelplane-developer-rules") == {"developer", "admin"}
    assert aggregated_into("modelplane-admin-rules") == {"admin"}
    viewer_verbs = {v for rule in roles["modelplane-viewer-rules"]["rules"] for v in rule["verbs"]}
    assert viewer_verbs == {"get", "list", "watch"}
