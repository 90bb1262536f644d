"""Organization → namespace `mp-<slug>` with quota, limits, network isolation and role bindings.

One level-based reconcile, run on create, update, resume and a timer (kopf cannot see children
change, so the timer repairs drift such as a deleted RoleBinding). Children are applied with
server-side apply under fixed names, so an interrupted pass converges on the same objects on the
next run. Deletion waits until the organization's ModelDeployments are gone (their own cleanup
runs first), then deletes the namespace, which takes every other child with it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import kopf

from modelplane_crds import labels
from modelplane_crds.conditions import (
    PROGRESSING_WITH_RETRY,
    mark_ready,
    mark_retrying,
    mark_stalled,
)
from modelplane_crds.kinds import MODEL_DEPLOYMENT, ORGANIZATION
from modelplane_crds.organization import NAMESPACE_CONFLICT, NAMESPACE_READY, OrganizationSpec
from modelplane_operator.builders import OPERATOR
from modelplane_operator.builders import organization as builders
from modelplane_operator.cluster import Cluster, ClusterError, owner_reference
from modelplane_operator.context import OperatorContext
from modelplane_operator.handlers.converged import (
    Converged,
    backoff,
    conditions_of,
    conditions_wire,
)
from modelplane_operator.settings import Settings

KIND = ORGANIZATION.kind
MANAGED = f"{labels.APP_MANAGED_BY}={OPERATOR}"


def converge_organization(
    cluster: Cluster, body: dict[str, Any], settings: Settings, retry: int, now: datetime
) -> Converged:
    """Apply the children; return the status to write and whether to retry or give up."""
    name = body["metadata"]["name"]
    generation = int(body["metadata"].get("generation") or 1)
    conditions = conditions_of(body.get("status"))
    try:
        org = builders.parse_organization(body)
    except ValueError as exc:
        return _stalled(conditions, "InvalidSpec", str(exc), generation, now)
    namespace = builders.namespace_name(org.spec)
    try:
        conflict = _namespace_conflict(cluster, name, namespace)
        if conflict is not None:
            return _stalled(conditions, NAMESPACE_CONFLICT, conflict, generation, now)
        _apply_children(cluster, body, org.spec, settings)
    except ClusterError as exc:
        delay = backoff(retry, settings.retry_delay_s, settings.retry_max_delay_s)
        status = {
            "observedGeneration": generation,
            "conditions": conditions_wire(
                mark_retrying(conditions, PROGRESSING_WITH_RETRY, str(exc), generation, now)
            ),
        }
        return Converged(status, kopf.TemporaryError(str(exc), delay=delay))
    ready = mark_ready(
        conditions, NAMESPACE_READY, f"namespace {namespace} is ready", generation, now
    )
    return Converged(
        {
            "observedGeneration": generation,
            "namespace": namespace,
            "conditions": conditions_wire(ready),
        }
    )


def _namespace_conflict(cluster: Cluster, name: str, namespace: str) -> str | None:
    """Why the namespace cannot be the organization's (None when it is free or already ours)."""
    existing = cluster.get("v1", "Namespace", namespace)
    owner_label = (
        ((existing or {}).get("metadata") or {}).get("labels", {}).get(labels.ORGANIZATION)
    )
    if existing is not None and owner_label != name:
        return (
            f"namespace {namespace} already exists and does not belong to organization"
            f" {name!r}; choose another slug"
        )
    return None


def _apply_children(
    cluster: Cluster, body: dict[str, Any], spec: OrganizationSpec, settings: Settings
) -> None:
    """The namespace, its quota, limits, MLflow token for serving pods, network policies and
    role bindings (stale ones go)."""
    name = body["metadata"]["name"]
    namespace = builders.namespace_name(spec)
    cluster.apply(builders.build_namespace(name, spec))
    owner = owner_reference({**body, "apiVersion": body.get("apiVersion"), "kind": KIND})
    quota = builders.build_resource_quota(name, spec, owner)
    if quota is not None:
        cluster.apply(quota)
    else:
        cluster.delete("v1", "ResourceQuota", builders.QUOTA, namespace)
    cluster.apply(builders.build_limit_range(name, spec, owner))
    if settings.runtime_mlflow_token is not None:
        token = settings.runtime_mlflow_token.get_secret_value()
        cluster.apply(builders.build_mlflow_secret(name, spec, token, owner))
    for policy in builders.build_network_policies(name, spec, settings.platform_namespace, owner):
        cluster.apply(policy)
    bindings = builders.build_role_bindings(name, spec, owner)
    for binding in bindings:
        cluster.apply(binding)
    current = cluster.list("rbac.authorization.k8s.io/v1", "RoleBinding", namespace, MANAGED)
    for stale in builders.stale_names(current, bindings):
        cluster.delete("rbac.authorization.k8s.io/v1", "RoleBinding", stale, namespace)


def _stalled(
    conditions: list[Any], reason: str, message: str, generation: int, now: datetime
) -> Converged:
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": conditions_wire(mark_stalled(conditions, reason, message, generation, now)),
    }
    return Converged(status, kopf.PermanentError(f"{reason}: {message}"))


async def reconcile_organization(
    body: kopf.Body, patch: kopf.Patch, memo: OperatorContext, retry: int = 0, **_: Any
) -> None:
    """Converge the organization's namespace and its policy objects; report in conditions."""
    uid = body.metadata.uid or body.metadata.name or ""
    with memo.metrics.track(KIND, uid):
        converged = await asyncio.to_thread(
            converge_organization,
            memo.cluster,
            dict(body),
            memo.settings,
            retry,
            datetime.now(UTC),
        )
        await converged.report(memo.cluster, body, patch)


def finalize_organization(cluster: Cluster, body: dict[str, Any]) -> str | None:
    """Delete the org's ModelDeployments, then its namespace once they are gone. Returns what
    is still awaited (None when done)."""
    name = body["metadata"]["name"]
    try:
        org = builders.parse_organization(body)
    except ValueError:
        return None
    namespace = builders.namespace_name(org.spec)
    existing = cluster.get("v1", "Namespace", namespace)
    if existing is None:
        return None
    if (existing.get("metadata") or {}).get("labels", {}).get(labels.ORGANIZATION) != name:
        return None  # not ours: never delete a namespace we did not make
    deployments = cluster.list(MODEL_DEPLOYMENT.api_version, MODEL_DEPLOYMENT.kind, namespace)
    if deployments:
        for deployment in deployments:
            if not deployment["metadata"].get("deletionTimestamp"):
                cluster.delete(
                    MODEL_DEPLOYMENT.api_version,
                    MODEL_DEPLOYMENT.kind,
                    deployment["metadata"]["name"],
                    namespace,
                )
        return f"waiting for {len(deployments)} ModelDeployment(s) in {namespace} to be deleted"
    cluster.delete("v1", "Namespace", namespace)
    return None


async def delete_organization(body: kopf.Body, memo: OperatorContext, **_: Any) -> None:
    """Finalizer: the namespace goes only after the ModelDeployments in it are gone."""
    uid = body.metadata.uid or body.metadata.name or ""
    with memo.metrics.track(KIND, uid):
        try:
            waiting = await asyncio.to_thread(finalize_organization, memo.cluster, dict(body))
        except ClusterError as exc:
            raise kopf.TemporaryError(str(exc), delay=memo.settings.retry_delay_s) from exc
        if waiting is not None:
            raise kopf.TemporaryError(waiting, delay=memo.settings.retry_delay_s)
    memo.metrics.forget(KIND, uid)
