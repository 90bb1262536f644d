"""Admission bindings: gather context from the cluster, call the pure webhook functions.

The rules live in `modelplane_webhooks` (no I/O); this module only looks up what they need —
the namespace's labels, the referenced ModelVersions, the organization's admin groups — and turns
violations into a kopf `AdmissionError` (a readable denial for kubectl) or defaults into kopf's
patch. kopf's own writes must pass: deletions are not validated, and updates that leave the spec
alone (finalizers, annotations, labels) are admitted without looking anything up.
"""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from modelplane_crds.kinds import MODEL_VERSION, ORGANIZATION
from modelplane_operator.cluster import Cluster
from modelplane_operator.context import OperatorContext
from modelplane_operator.settings import Settings
from modelplane_webhooks import defaulting, validation
from modelplane_webhooks.errors import denial_message

DENIED = 422


def _metadata_only(operation: str | None, body: kopf.Body, old: Any) -> bool:
    if operation != "UPDATE" or old is None:
        return False
    if body.metadata.get("deletionTimestamp"):
        return True
    return bool(dict(old).get("spec") == dict(body).get("spec"))


def _namespace_labels(cluster: Cluster, namespace: str) -> dict[str, str] | None:
    found = cluster.get("v1", "Namespace", namespace)
    if found is None:
        return None
    return dict((found.get("metadata") or {}).get("labels") or {})


def _deny(violations: list[Any]) -> None:
    if violations:
        raise kopf.AdmissionError(denial_message(violations), code=DENIED)


async def validate_model_version(
    body: kopf.Body,
    memo: OperatorContext,
    old: Any = None,
    operation: str | None = None,
    **_: Any,
) -> None:
    """ModelVersions only in org namespaces."""
    if _metadata_only(operation, body, old):
        return
    namespace = body.metadata.namespace or ""
    ns_labels = await asyncio.to_thread(_namespace_labels, memo.cluster, namespace)
    _deny(validation.validate_model_version(dict(body), namespace, ns_labels))


def _deployment_context(
    cluster: Cluster, body: dict[str, Any], namespace: str
) -> tuple[dict[str, str] | None, dict[str, dict[str, Any] | None], list[str]]:
    ns_labels = _namespace_labels(cluster, namespace)
    spec = body.get("spec") or {}
    versions: dict[str, dict[str, Any] | None] = {}
    for field in ("stable", "candidate"):
        name = ((spec.get(field) or {}).get("modelVersionRef") or {}).get("name")
        if name and "/" not in name:
            versions[name] = cluster.get(
                MODEL_VERSION.api_version, MODEL_VERSION.kind, name, namespace
            )
    admin_groups: list[str] = []
    org = validation.organization_of(ns_labels)
    if org is not None:
        organization = cluster.get(ORGANIZATION.api_version, ORGANIZATION.kind, org)
        groups = ((organization or {}).get("spec") or {}).get("memberGroups") or {}
        admin_groups = list(groups.get("admin") or [])
    return ns_labels, versions, admin_groups


def exempt_from_production_rule(username: str, settings: Settings) -> bool:
    """Only the operator itself (for its own children) and explicitly named users are exempt.
    The facade is not: it impersonates its caller, so its calls arrive as that person."""
    operator = f"system:serviceaccount:{settings.platform_namespace}:{settings.service_account}"
    return username == operator or username in settings.privileged_users


async def validate_model_deployment(
    body: kopf.Body,
    memo: OperatorContext,
    old: Any = None,
    operation: str | None = None,
    userinfo: Any = None,
    **_: Any,
) -> None:
    """Same-namespace, existing, usable versions; allowed images; production needs an admin."""
    if _metadata_only(operation, body, old):
        return
    namespace = body.metadata.namespace or ""
    ns_labels, versions, admin_groups = await asyncio.to_thread(
        _deployment_context, memo.cluster, dict(body), namespace
    )
    user = dict(userinfo or {})
    username = str(user.get("username", ""))
    privileged = exempt_from_production_rule(username, memo.settings)
    _deny(
        validation.validate_model_deployment(
            dict(body),
            namespace,
            ns_labels,
            versions=versions,
            image_allowlist=memo.settings.image_allowlist,
            old=dict(old) if old is not None else None,
            user_groups=list(user.get("groups") or []),
            admin_groups=admin_groups,
            privileged=privileged,
        )
    )


async def validate_drift_monitor(
    body: kopf.Body,
    memo: OperatorContext,
    old: Any = None,
    operation: str | None = None,
    **_: Any,
) -> None:
    """DriftMonitors only in org namespaces, watching a deployment of the same namespace."""
    if _metadata_only(operation, body, old):
        return
    namespace = body.metadata.namespace or ""
    ns_labels = await asyncio.to_thread(_namespace_labels, memo.cluster, namespace)
    _deny(validation.validate_drift_monitor(dict(body), namespace, ns_labels))


def _merge(patch: kopf.Patch, merge: dict[str, Any]) -> None:
    for key, value in merge.items():
        patch[key] = value


async def default_model_version(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, **_: Any
) -> None:
    """Label with model and organization."""
    if body.metadata.get("deletionTimestamp"):
        return
    namespace = body.metadata.namespace or ""
    ns_labels = await asyncio.to_thread(_namespace_labels, memo.cluster, namespace)
    _merge(
        patch, defaulting.default_model_version(dict(body), validation.organization_of(ns_labels))
    )


async def default_model_deployment(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, **_: Any
) -> None:
    """Label with model and organization; make runtime image and threads explicit."""
    if body.metadata.get("deletionTimestamp"):
        return
    namespace = body.metadata.namespace or ""

    def lookup() -> tuple[dict[str, str] | None, str | None]:
        ns_labels = _namespace_labels(memo.cluster, namespace)
        stable = ((body.get("spec") or {}).get("stable") or {}).get("modelVersionRef") or {}
        name = stable.get("name")
        version = (
            memo.cluster.get(MODEL_VERSION.api_version, MODEL_VERSION.kind, name, namespace)
            if name and "/" not in name
            else None
        )
        model = ((version or {}).get("spec") or {}).get("modelName")
        return ns_labels, model

    ns_labels, model = await asyncio.to_thread(lookup)
    merge = defaulting.default_model_deployment(
        dict(body),
        validation.organization_of(ns_labels),
        model_name=model,
        default_image=memo.settings.default_runtime_image,
    )
    _merge(patch, merge)


async def default_drift_monitor(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, **_: Any
) -> None:
    """Label with organization."""
    if body.metadata.get("deletionTimestamp"):
        return
    namespace = body.metadata.namespace or ""
    ns_labels = await asyncio.to_thread(_namespace_labels, memo.cluster, namespace)
    _merge(
        patch, defaulting.default_drift_monitor(dict(body), validation.organization_of(ns_labels))
    )
