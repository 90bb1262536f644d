"""Rules for deployments: the ModelDeployment in the cluster is the only record (like a
`kubectl apply`), so one applied with kubectl or from Git shows up here too. Writes are
server-side applies with the facade's field manager; when the cluster does not answer, the
caller gets 503 (deployments have no outbox yet). A GitOps-managed organization is read-only.

A deployment starts from a registry version that is Ready in the cluster (409 with its state
otherwise). Creating, changing or deleting a production deployment — or moving one into or out
of production — needs the `deployment:production` permission (Admin), as the admission webhook
demands for kubectl users. The served versions (`stable`, `candidate`) change through rollouts,
not through `update_deployment`.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import (
    FIELD_MANAGER,
    MODEL_DEPLOYMENT,
    MODEL_VERSION,
    ClusterGateway,
    apply_unless_changed,
)
from modelplane_api.deployments.aliases import follow
from modelplane_api.deployments.schemas import (
    DeploymentCreate,
    DeploymentPublic,
    DeploymentSettings,
    DeploymentUpdate,
)
from modelplane_api.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
)
from modelplane_api.mlflow_mirror import RegistryMirror
from modelplane_api.pagination import PageParams
from modelplane_api.permissions import Permission, Role, allows
from modelplane_api.registry.resources import observe
from modelplane_api.registry.schemas import ClusterEvent, Condition
from modelplane_api.registry.service import (
    find_version_or_404,
    organization_namespace,
    writable_namespace,
)
from modelplane_crds import labels
from modelplane_crds.conditions import Condition as CrdCondition
from modelplane_crds.conditions import Phase, derive_phase, get_condition
from modelplane_crds.model_deployment import (
    Environment,
    ModelDeployment,
    ModelDeploymentSpec,
    VersionTarget,
)

KIND = "ModelDeployment"


def _conditions(status: dict[str, Any]) -> list[CrdCondition]:
    """The well-formed conditions of a status (a malformed one is left out of the phase)."""
    found = []
    for raw in status.get("conditions") or []:
        try:
            found.append(CrdCondition.model_validate(raw))
        except ValidationError:
            continue
    return found


def _phase(obj: dict[str, Any]) -> tuple[Phase, str | None, str | None]:
    """(phase, reason, message): the phase `derive_phase` gives and the condition behind it."""
    conditions = _conditions(obj.get("status") or {})
    phase = derive_phase(conditions, int((obj.get("metadata") or {}).get("generation") or 0))
    deciding = {"Stalled": "Stalled", "Progressing": "Reconciling"}.get(phase, "Ready")
    found = get_condition(conditions, deciding) or get_condition(conditions, "Ready")
    if found is None:
        return phase, None, "the operator has not reconciled it yet"
    return phase, found.reason, found.message


def _versions(spec: dict[str, Any]) -> tuple[str, str | None]:
    """The stable and candidate ModelVersions a deployment's spec names."""
    stable = str(((spec.get("stable") or {}).get("modelVersionRef") or {}).get("name"))
    candidate = ((spec.get("candidate") or {}).get("modelVersionRef") or {}).get("name")
    return stable, candidate


def public(obj: dict[str, Any], models: dict[str, str]) -> DeploymentPublic:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    status = obj.get("status") or {}
    stable, candidate = _versions(spec)
    phase, reason, message = _phase(obj)
    return DeploymentPublic(
        name=str(meta.get("name")),
        namespace=str(meta.get("namespace")),
        model=(meta.get("labels") or {}).get(labels.MODEL) or models.get(stable),
        environment=str(spec.get("environment") or "staging"),
        phase=phase,
        reason=reason,
        message=message,
        stable_version=stable,
        candidate_version=candidate,
        serving_version=status.get("stableVersion"),
        rollout_state=status.get("rolloutState"),
        traffic=status.get("traffic"),
        current_step=status.get("currentStep"),
        analysis=status.get("analysis"),
        rollback=status.get("rollback"),
        url=status.get("url"),
        spec=spec,
        conditions=[Condition.of(c) for c in status.get("conditions") or [] if isinstance(c, dict)],
        created_at=meta.get("creationTimestamp"),
    )


async def model_names(gateway: ClusterGateway, namespace: str) -> dict[str, str]:
    """ModelVersion name → its model, for deployments that carry no model label."""
    found = await gateway.list_objects(MODEL_VERSION, namespace)
    return {
        obj["metadata"]["name"]: str((obj.get("spec") or {}).get("modelName"))
        for obj in found
        if (obj.get("spec") or {}).get("modelName")
    }


def check_environment(role: Role, *environments: str | None) -> None:
    """403 unless the role may touch production, when one of the environments is it."""
    if "production" in environments and not allows(role, Permission.DEPLOYMENT_PRODUCTION):
        raise PermissionDenied(
            "changing a production deployment needs the organization's admin role"
        )


async def get_or_404(gateway: ClusterGateway, namespace: str, name: str) -> dict[str, Any]:
    found = await gateway.get(MODEL_DEPLOYMENT, name, namespace)
    if found is None:
        raise NotFound("deployment not found")
    return found


def _matches(
    item: DeploymentPublic, model: str | None, environment: str | None, phase: str | None
) -> bool:
    return (
        (model is None or item.model == model)
        and (environment is None or item.environment == environment)
        and (phase is None or item.phase == phase)
    )


async def list_deployments(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    paging: PageParams,
    *,
    model: str | None,
    environment: Environment | None,
    phase: Phase | None,
) -> tuple[list[DeploymentPublic], int]:
    """One page of the organization's ModelDeployments (by name) and the total."""
    namespace = await organization_namespace(session, organization_id)
    found = await gateway.list_objects(MODEL_DEPLOYMENT, namespace)
    models = await model_names(gateway, namespace)
    items = sorted((public(obj, models) for obj in found), key=lambda d: d.name)
    items = [d for d in items if _matches(d, model, environment, phase)]
    return items[paging.offset : paging.offset + paging.limit], len(items)


async def get_deployment(
    session: AsyncSession, gateway: ClusterGateway, organization_id: uuid.UUID, name: str
) -> DeploymentPublic:
    """One ModelDeployment with its phase, versions, traffic, analysis and rollback record."""
    namespace = await organization_namespace(session, organization_id)
    found = await get_or_404(gateway, namespace, name)
    return public(found, await model_names(gateway, namespace))


async def version_roles(
    session: AsyncSession, gateway: ClusterGateway, organization_id: uuid.UUID, name: str
) -> tuple[str, dict[str, str]]:
    """The namespace of a deployment of the organization (404 otherwise) and the role of each
    ModelVersion it names: `stable`, `candidate`."""
    namespace = await organization_namespace(session, organization_id)
    stable, candidate = _versions((await get_or_404(gateway, namespace, name)).get("spec") or {})
    roles = {stable: "stable"}
    if candidate:
        roles[candidate] = "candidate"
    return namespace, roles


async def deployment_events(
    session: AsyncSession, gateway: ClusterGateway, organization_id: uuid.UUID, name: str
) -> list[ClusterEvent]:
    """The Kubernetes Events about one ModelDeployment, oldest first."""
    namespace = await organization_namespace(session, organization_id)
    await get_or_404(gateway, namespace, name)
    return [ClusterEvent.of(e) for e in await gateway.events(namespace, KIND, name)]


def _blocks(data: DeploymentSettings) -> dict[str, Any]:
    """The settings blocks the request gives, camelCase as in the spec."""
    given = {
        "scaling": data.scaling,
        "runtime": data.runtime,
        "payloadLogging": data.payload_logging,
    }
    return {
        key: block.model_dump(by_alias=True, exclude_none=True, mode="json")
        for key, block in given.items()
        if block is not None
    }


def _body(
    name: str, namespace: str, model: str, spec: dict[str, Any], resource_version: str | None
) -> dict[str, Any]:
    """The ModelDeployment to apply; 400 when its spec would not pass the CRD's rules."""
    try:
        checked = ModelDeploymentSpec.model_validate(spec)
    except ValidationError as exc:
        raise BadRequest(
            "the deployment cannot be declared: " + "; ".join(e["msg"] for e in exc.errors()),
            {"reason": "InvalidSpec"},
        ) from exc
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {labels.MODEL: model, labels.APP_MANAGED_BY: FIELD_MANAGER},
    }
    if resource_version:  # the apply fails (409) if someone changed it since it was read
        metadata["resourceVersion"] = resource_version
    resource = ModelDeployment.model_validate({"metadata": metadata, "spec": checked})
    return resource.model_dump(by_alias=True, exclude_none=True, mode="json")


async def apply_spec(
    gateway: ClusterGateway, live: dict[str, Any], model: str | None, spec: dict[str, Any]
) -> dict[str, Any]:
    """Apply the whole `spec` over the live object (the facade's field manager would otherwise
    drop the fields it set before), with the resourceVersion it was read at: a concurrent change
    of the spec answers 409 instead of being overwritten (`apply_unless_changed`)."""
    meta = live.get("metadata") or {}

    def body_at(resource_version: str | None) -> dict[str, Any]:
        body = _body(meta["name"], meta["namespace"], model or "", spec, resource_version)
        if not model:
            del body["metadata"]["labels"][labels.MODEL]
        return body

    return await apply_unless_changed(gateway, MODEL_DEPLOYMENT, live, body_at)


async def create_deployment(
    session: AsyncSession,
    gateway: ClusterGateway,
    mirror: RegistryMirror,
    organization_id: uuid.UUID,
    role: Role,
    data: DeploymentCreate,
    audit: AuditContext,
) -> DeploymentPublic:
    """Apply a ModelDeployment serving one Ready version of the organization."""
    check_environment(role, data.environment)
    model, version = await find_version_or_404(session, organization_id, data.version_id)
    namespace = await writable_namespace(session, gateway, organization_id)
    observed = observe(await gateway.get(MODEL_VERSION, version.resource_name, namespace))
    if observed.state != "ready":
        raise Conflict(
            f"version {version.version} of {model.name!r} is {observed.state}, not ready: only a "
            "Ready version can be deployed",
            {"state": observed.state, "reason": observed.reason, "message": observed.message},
        )
    name = data.name or f"{model.name}-{data.environment}"
    if await gateway.get(MODEL_DEPLOYMENT, name, namespace) is not None:
        raise AlreadyExists(f"deployment {name!r} exists")
    stable = VersionTarget.model_validate({"modelVersionRef": {"name": version.resource_name}})
    spec = {"environment": data.environment, "stable": stable, **_blocks(data)}
    body = _body(name, namespace, model.name, spec, None)
    applied = await gateway.apply(MODEL_DEPLOYMENT, body)
    await follow(session, mirror, organization_id, applied)
    audit.resource_id = name
    audit.after = {"name": name, "version_id": str(version.id), "spec": body["spec"]}
    return public(applied, {version.resource_name: model.name})


async def update_deployment(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    role: Role,
    name: str,
    data: DeploymentUpdate,
    audit: AuditContext,
) -> DeploymentPublic:
    """Change a deployment's environment, scaling, runtime or payload logging."""
    namespace = await writable_namespace(session, gateway, organization_id)
    live = await get_or_404(gateway, namespace, name)
    spec = dict(live.get("spec") or {})
    check_environment(role, spec.get("environment"), data.environment)
    models = await model_names(gateway, namespace)
    before = public(live, models)
    spec.update(_blocks(data))
    if data.environment is not None:
        spec["environment"] = data.environment
    applied = await apply_spec(gateway, live, before.model, spec)
    audit.resource_id, audit.before, audit.after = (
        name,
        {"spec": before.spec},
        {"spec": applied.get("spec")},
    )
    return public(applied, models)


async def delete_deployment(
    session: AsyncSession,
    gateway: ClusterGateway,
    organization_id: uuid.UUID,
    role: Role,
    name: str,
    audit: AuditContext,
) -> None:
    """Delete a ModelDeployment (the operator's children go with it)."""
    namespace = await writable_namespace(session, gateway, organization_id)
    found = await get_or_404(gateway, namespace, name)
    check_environment(role, (found.get("spec") or {}).get("environment"))
    audit.resource_id, audit.before = name, {"spec": found.get("spec")}
    await gateway.delete(MODEL_DEPLOYMENT, name, namespace)
