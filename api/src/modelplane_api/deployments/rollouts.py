"""Rollouts of a deployment: start one (a candidate version with a strategy), promote or resume
it past the step it holds at, roll it back, and the history of them all.

The ModelDeployment says what serves now; the history (PostgreSQL) says what served when. A
rollout the operator ends — promoted after its last step, or rolled back by failed analysis —
is written into the history the next time the facade looks at the deployment (a rollout action
or the history list), with the time and reason the operator recorded in the status.

Promote and resume set the operator's annotation (`modelplane.io/promote`, `…/resume`) with a
field manager of their own, so the facade's apply of the spec never takes it back; the operator
removes it when it has used it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import MODEL_DEPLOYMENT, MODEL_VERSION, ClusterGateway
from modelplane_api.deployments.aliases import follow, rollout_candidate, serving_version
from modelplane_api.deployments.models import Rollout
from modelplane_api.deployments.schemas import (
    DeploymentCreate,
    DeploymentPublic,
    ProductionPromotion,
    ProductionPromotionPublic,
    RolloutAction,
    RolloutCreate,
    RolloutPublic,
)
from modelplane_api.deployments.service import (
    apply_spec,
    check_environment,
    create_deployment,
    get_or_404,
    model_names,
    public,
)
from modelplane_api.errors import BadRequest, Conflict
from modelplane_api.mlflow_mirror import RegistryMirror
from modelplane_api.pagination import PageParams
from modelplane_api.permissions import Role
from modelplane_api.registry.repository import find_version_by_resource
from modelplane_api.registry.resources import observe
from modelplane_api.registry.service import (
    find_version_or_404,
    organization_namespace,
    writable_namespace,
)
from modelplane_crds.model_deployment import (
    Analysis,
    PayloadLogging,
    RuntimeSettings,
    Scaling,
    Strategy,
)

ACTION_MANAGER = "modelplane-api-actions"
"""Field manager of the promote/resume annotations (not the spec's manager: see the module)."""
PROMOTE = "modelplane.io/promote"
RESUME = "modelplane.io/resume"


@dataclass(frozen=True)
class Caller:
    """Who acts on a deployment's rollouts, with the request's session, gateway and audit."""

    session: AsyncSession
    gateway: ClusterGateway
    organization_id: uuid.UUID
    role: Role
    user_id: uuid.UUID | None
    audit: AuditContext
    mirror: RegistryMirror


CANARY_STRATEGY = Strategy.model_validate(
    {
        "canary": {
            "steps": [
                {"setWeight": 10},
                {"analysis": {"intervals": 1}},
                {"setWeight": 50},
                {"analysis": {"intervals": 1}},
                {"setWeight": 100},
            ]
        }
    }
)
CANARY_CHECKS: dict[str, Any] = {"errorRate": {"max": 0.01}, "latencyP99": {"maxMs": 250}}
PREDICTION_DRIFT: dict[str, Any] = {"predictionDrift": {"test": "jsd", "max": 0.1}}


def preset_blocks(data: RolloutCreate, spec: dict[str, Any]) -> dict[str, Any]:
    """The strategy, analysis, onFailure and promotion to apply (camelCase, as in the spec).

    The `canary` preset checks prediction drift only when the deployment logs payloads (the
    operator compares the candidate's logged predictions with the stable version's)."""
    strategy, analysis = data.strategy, data.analysis
    if data.preset == "canary":
        if strategy is None:
            strategy = CANARY_STRATEGY
        if analysis is None:
            logs = ((spec.get("payloadLogging") or {}).get("sampleRate") or 0) > 0
            checks = {**CANARY_CHECKS, **(PREDICTION_DRIFT if logs else {})}
            analysis = Analysis.model_validate({"interval": "1m", "checks": checks})
    blocks: dict[str, Any] = {"onFailure": data.on_failure, "promotion": data.promotion}
    for key, block in (("strategy", strategy), ("analysis", analysis)):
        if block is not None:
            blocks[key] = block.model_dump(by_alias=True, exclude_none=True, mode="json")
    return blocks


def _when(value: Any) -> datetime:
    """A status timestamp, or now when it is missing or malformed."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


def _ready_since(status: dict[str, Any]) -> Any:
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition.get("lastTransitionTime")
    return None


async def _open(session: AsyncSession, organization_id: uuid.UUID, name: str) -> Rollout | None:
    found = await session.execute(
        select(Rollout).where(
            Rollout.organization_id == organization_id,
            Rollout.deployment == name,
            Rollout.outcome == "in_progress",
        )
    )
    return found.scalar_one_or_none()


async def observe_history(
    session: AsyncSession, mirror: RegistryMirror, organization_id: uuid.UUID, obj: dict[str, Any]
) -> None:
    """Close the open rollout of the deployment when the cluster says how it ended (and let
    the MLflow aliases follow)."""
    name = str((obj.get("metadata") or {}).get("name"))
    row = await _open(session, organization_id, name)
    if row is None:
        return
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    rollback = status.get("rollback") or {}
    candidate = ((spec.get("candidate") or {}).get("modelVersionRef") or {}).get("name")
    if status.get("stableVersion") == row.to_version:
        row.outcome, row.ended_at = "promoted", _when(_ready_since(status))
        row.reason = row.reason or "passed every step"
    elif rollback.get("rejectedVersion") == row.to_version and _when(rollback.get("at")) >= (
        row.created_at
    ):
        row.outcome, row.ended_at = "rolled_back", _when(rollback.get("at"))
        row.reason = f"{rollback.get('reason')}: {rollback.get('message') or ''}".strip(": ")
    elif candidate != row.to_version:
        row.outcome, row.ended_at = "superseded", datetime.now(UTC)
        row.reason = "the candidate was changed outside the facade (kubectl or Git)"
    else:
        return
    await session.flush()
    await follow(session, mirror, organization_id, obj)


async def start_rollout(
    caller: Caller,
    name: str,
    data: RolloutCreate,
) -> DeploymentPublic:
    """Make a Ready version of the deployment's model its candidate, with a strategy."""
    namespace = await writable_namespace(caller.session, caller.gateway, caller.organization_id)
    live = await get_or_404(caller.gateway, namespace, name)
    spec = dict(live.get("spec") or {})
    check_environment(caller.role, spec.get("environment"))
    models = await model_names(caller.gateway, namespace)
    before = public(live, models)
    model, version = await find_version_or_404(
        caller.session, caller.organization_id, data.version_id
    )
    if before.model is not None and model.name != before.model:
        raise BadRequest(
            f"version {version.version} is a version of {model.name!r}; deployment {name!r}"
            f" serves {before.model!r}",
            {"reason": "OtherModel"},
        )
    observed = observe(await caller.gateway.get(MODEL_VERSION, version.resource_name, namespace))
    if observed.state != "ready":
        raise Conflict(
            f"version {version.version} of {model.name!r} is {observed.state}, not ready",
            {"state": observed.state, "reason": observed.reason, "message": observed.message},
        )
    await observe_history(caller.session, caller.mirror, caller.organization_id, live)
    running = rollout_candidate(live)
    if running is not None:
        raise Conflict(
            f"{running} is being rolled out: promote it or roll it back first",
            {"reason": "RolloutInProgress", "candidate": running},
        )
    serving = serving_version(live)
    if version.resource_name == serving:
        raise Conflict(f"{serving} serves already", {"reason": "AlreadyServing"})
    blocks = preset_blocks(data, spec)
    spec.update(blocks)
    spec["stable"] = {"modelVersionRef": {"name": serving}}  # after a promotion: tidy the spec
    spec["candidate"] = {"modelVersionRef": {"name": version.resource_name}}
    if "analysis" not in blocks:
        spec.pop("analysis", None)
    if "strategy" not in blocks:
        spec.pop("strategy", None)
    applied = await apply_spec(caller.gateway, live, before.model, spec)
    await follow(caller.session, caller.mirror, caller.organization_id, applied)
    row = Rollout(
        organization_id=caller.organization_id,
        deployment=name,
        from_version=serving,
        to_version=version.resource_name,
        strategy=blocks,
        outcome="in_progress",
        created_by=caller.user_id,
    )
    caller.session.add(row)
    await caller.session.flush()
    caller.audit.resource_id = name
    caller.audit.before = {"spec": before.spec}
    caller.audit.after = {"spec": applied.get("spec"), "rollout": str(row.id)}
    return public(applied, models)


async def _live_rollout(
    caller: Caller,
    name: str,
) -> tuple[dict[str, Any], str]:
    """The deployment and the candidate of its rollout in progress (409 when there is none)."""
    namespace = await writable_namespace(caller.session, caller.gateway, caller.organization_id)
    live = await get_or_404(caller.gateway, namespace, name)
    check_environment(caller.role, (live.get("spec") or {}).get("environment"))
    await observe_history(caller.session, caller.mirror, caller.organization_id, live)
    candidate = rollout_candidate(live)
    if candidate is None:
        raise Conflict(f"no rollout of {name!r} is in progress", {"reason": "NoRollout"})
    return live, candidate


async def signal_rollout(
    caller: Caller,
    name: str,
    annotation: str,
    data: RolloutAction,
) -> DeploymentPublic:
    """Promote (or resume) the rollout past the pause, analysis or manual wait it holds at."""
    live, candidate = await _live_rollout(caller, name)
    return await _signal(caller, live, candidate, annotation, data)


async def _signal(
    caller: Caller, live: dict[str, Any], candidate: str, annotation: str, data: RolloutAction
) -> DeploymentPublic:
    name, meta = live["metadata"]["name"], live["metadata"]
    applied = await caller.gateway.apply(
        MODEL_DEPLOYMENT,
        {
            "apiVersion": live["apiVersion"],
            "kind": live["kind"],
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "annotations": {annotation: "true"},
            },
        },
        field_manager=ACTION_MANAGER,
    )
    row = await _open(caller.session, caller.organization_id, name)
    if row is not None and annotation == PROMOTE:
        row.ended_by = caller.user_id
        row.reason = f"promoted by hand{': ' + data.reason if data.reason else ''}"
    caller.audit.resource_id, caller.audit.after = (
        name,
        {"candidate": candidate, "reason": data.reason},
    )
    return public(applied, await model_names(caller.gateway, meta["namespace"]))


async def pause_rollout(
    caller: Caller, name: str, paused: bool, data: RolloutAction
) -> DeploymentPublic:
    """Set `spec.paused`: hold the rollout where it is (or let it go on)."""
    live, candidate = await _live_rollout(caller, name)
    return await _set_paused(caller, live, candidate, paused, data)


async def _set_paused(
    caller: Caller, live: dict[str, Any], candidate: str, paused: bool, data: RolloutAction
) -> DeploymentPublic:
    name, namespace = live["metadata"]["name"], live["metadata"]["namespace"]
    models = await model_names(caller.gateway, namespace)
    before = public(live, models)
    spec = dict(live.get("spec") or {})
    spec["paused"] = paused
    applied = await apply_spec(caller.gateway, live, before.model, spec)
    caller.audit.resource_id = name
    caller.audit.after = {"candidate": candidate, "paused": paused, "reason": data.reason}
    return public(applied, models)


async def resume_rollout(caller: Caller, name: str, data: RolloutAction) -> DeploymentPublic:
    """Go on: un-pause a rollout paused by hand, else end the pause step (or the pause after
    failed analysis) it holds at."""
    live, candidate = await _live_rollout(caller, name)
    if (live.get("spec") or {}).get("paused"):
        return await _set_paused(caller, live, candidate, False, data)
    return await _signal(caller, live, candidate, RESUME, data)


async def rollback_rollout(
    caller: Caller,
    name: str,
    data: RolloutAction,
) -> DeploymentPublic:
    """Send all traffic back to the serving version: the candidate leaves the spec."""
    live, candidate = await _live_rollout(caller, name)
    namespace = live["metadata"]["namespace"]
    models = await model_names(caller.gateway, namespace)
    before = public(live, models)
    spec = dict(live.get("spec") or {})
    spec.pop("candidate", None)
    spec["stable"] = {"modelVersionRef": {"name": serving_version(live)}}
    applied = await apply_spec(caller.gateway, live, before.model, spec)
    await follow(caller.session, caller.mirror, caller.organization_id, applied)
    row = await _open(caller.session, caller.organization_id, name)
    if row is not None:
        row.outcome, row.ended_by, row.ended_at = "rolled_back", caller.user_id, datetime.now(UTC)
        row.reason = f"rolled back by hand{': ' + data.reason if data.reason else ''}"
    caller.audit.resource_id = name
    caller.audit.before = {"spec": before.spec}
    caller.audit.after = {"spec": applied.get("spec"), "rejected": candidate, "reason": data.reason}
    return public(applied, models)


async def list_rollouts(
    session: AsyncSession,
    gateway: ClusterGateway,
    mirror: RegistryMirror,
    organization_id: uuid.UUID,
    name: str,
    paging: PageParams,
) -> tuple[list[RolloutPublic], int]:
    """The deployment's rollouts, newest first (closing the open one when it has ended)."""
    namespace = await organization_namespace(session, organization_id)
    live = await gateway.get(MODEL_DEPLOYMENT, name, namespace)
    if live is not None:
        await observe_history(session, mirror, organization_id, live)
    where = (Rollout.organization_id == organization_id, Rollout.deployment == name)
    total = (await session.execute(select(func.count()).where(*where))).scalar_one()
    if live is None and total == 0:
        await get_or_404(gateway, namespace, name)
    query = select(Rollout).where(*where).order_by(Rollout.created_at.desc(), Rollout.id)
    rows = (await session.execute(query.offset(paging.offset).limit(paging.limit))).scalars()
    return [RolloutPublic.model_validate(_row(r)) for r in rows], total


def _row(row: Rollout) -> dict[str, Any]:
    return {
        "id": row.id,
        "deployment": row.deployment,
        "from_version": row.from_version,
        "to_version": row.to_version,
        "strategy": row.strategy,
        "outcome": row.outcome,
        "reason": row.reason,
        "started_by": row.created_by,
        "started_at": row.created_at,
        "ended_by": row.ended_by,
        "ended_at": row.ended_at,
    }


async def promote_to_production(
    caller: Caller,
    name: str,
    data: ProductionPromotion,
) -> ProductionPromotionPublic:
    """Copy a staging deployment's serving version into the model's production deployment:
    create it (with the staging settings) when absent, else roll the version out there."""
    namespace = await writable_namespace(caller.session, caller.gateway, caller.organization_id)
    staging = await get_or_404(caller.gateway, namespace, name)
    spec = staging.get("spec") or {}
    if spec.get("environment", "staging") != "staging":
        raise Conflict(f"{name!r} is not a staging deployment", {"reason": "NotStaging"})
    serving = serving_version(staging)
    version = await find_version_by_resource(caller.session, caller.organization_id, serving)
    if version is None:
        raise Conflict(
            f"{serving} is not a version of the registry (applied with kubectl?): register it"
            " to promote it",
            {"reason": "NotRegistered"},
        )
    model = public(staging, await model_names(caller.gateway, namespace)).model
    target = data.target or f"{model}-production"
    live = await caller.gateway.get(MODEL_DEPLOYMENT, target, namespace)
    if live is None:
        created = await create_deployment(
            caller.session,
            caller.gateway,
            caller.mirror,
            caller.organization_id,
            caller.role,
            DeploymentCreate(
                version_id=version.id,
                name=target,
                environment="production",
                scaling=_block(Scaling, spec.get("scaling")),
                runtime=_block(RuntimeSettings, spec.get("runtime")),
                payload_logging=_block(PayloadLogging, spec.get("payloadLogging")),
            ),
            caller.audit,
        )
        outcome = ProductionPromotionPublic(action="created", version=serving, deployment=created)
    else:
        if (live.get("spec") or {}).get("environment") != "production":
            raise Conflict(
                f"{target!r} is not a production deployment", {"reason": "NotProduction"}
            )
        started = await start_rollout(
            caller, target, RolloutCreate(version_id=version.id, preset=data.preset)
        )
        outcome = ProductionPromotionPublic(
            action="rollout_started", version=serving, deployment=started
        )
    audit = caller.audit
    audit.resource_id = target
    audit.after = {**(audit.after or {}), "from": name, "version": serving, "reason": data.reason}
    return outcome


def _block(kind: type[Scaling] | type[RuntimeSettings] | type[PayloadLogging], raw: Any) -> Any:
    return kind.model_validate(raw) if isinstance(raw, dict) else None
