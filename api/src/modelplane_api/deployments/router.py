"""Routes of `/api/v1/organizations/{org_id}/deployments`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from modelplane_api.audit.recorder import audited
from modelplane_api.deployments import monitoring, rollouts, service
from modelplane_api.deployments.schemas import (
    DeploymentCreate,
    DeploymentMetrics,
    DeploymentName,
    DeploymentPublic,
    DeploymentUpdate,
    ProductionPromotion,
    ProductionPromotionPublic,
    RolloutAction,
    RolloutCreate,
    RolloutPublic,
)
from modelplane_api.deps import (
    Audit,
    Ctx,
    DeploymentCreateAccess,
    DeploymentDeleteAccess,
    DeploymentReadAccess,
    DeploymentUpdateAccess,
    OrgAccess,
    SessionDep,
    known_filters,
    require,
)
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, PageEnvelope, ok, page
from modelplane_api.pagination import Paging
from modelplane_api.permissions import Permission
from modelplane_api.registry.schemas import ClusterEvent
from modelplane_crds.conditions import Phase
from modelplane_crds.model_deployment import Environment

router = APIRouter(
    prefix="/organizations/{org_id}/deployments", tags=["deployments"], responses=ERROR_RESPONSES
)


@router.get("", operation_id="list_deployments")
async def list_deployments(
    session: SessionDep,
    ctx: Ctx,
    paging: Paging,
    access: DeploymentReadAccess,
    _: Annotated[None, known_filters("model", "environment", "phase")],
    filter_model: Annotated[str | None, Query(alias="filter[model]", max_length=50)] = None,
    filter_environment: Annotated[Environment | None, Query(alias="filter[environment]")] = None,
    filter_phase: Annotated[Phase | None, Query(alias="filter[phase]")] = None,
) -> PageEnvelope[DeploymentPublic]:
    """The organization's deployments by name, with their phase read from the cluster."""
    items, total = await service.list_deployments(
        session,
        access.cluster(ctx),
        access.organization_id,
        paging,
        model=filter_model,
        environment=filter_environment,
        phase=filter_phase,
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_deployment",
    openapi_extra=audited("deployment.create", "model_deployment"),
)
async def create_deployment(
    body: DeploymentCreate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: DeploymentCreateAccess,
) -> Envelope[DeploymentPublic]:
    """Deploy a Ready version (a ModelDeployment); production needs the admin role."""
    return ok(
        await service.create_deployment(
            session,
            access.cluster(ctx),
            ctx.mirror,
            access.organization_id,
            access.role,
            body,
            audit,
        )
    )


@router.get("/{name}", operation_id="get_deployment")
async def get_deployment(
    name: DeploymentName, session: SessionDep, ctx: Ctx, access: DeploymentReadAccess
) -> Envelope[DeploymentPublic]:
    """One deployment: phase, versions, traffic, current step, analysis, rollback and URL."""
    return ok(
        await service.get_deployment(session, access.cluster(ctx), access.organization_id, name)
    )


@router.patch(
    "/{name}",
    operation_id="update_deployment",
    openapi_extra=audited("deployment.update", "model_deployment"),
)
async def update_deployment(
    name: DeploymentName,
    body: DeploymentUpdate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: DeploymentUpdateAccess,
) -> Envelope[DeploymentPublic]:
    """Change a deployment's environment, scaling, runtime or payload logging."""
    return ok(
        await service.update_deployment(
            session, access.cluster(ctx), access.organization_id, access.role, name, body, audit
        )
    )


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_deployment",
    openapi_extra=audited("deployment.delete", "model_deployment"),
)
async def delete_deployment(
    name: DeploymentName,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: DeploymentDeleteAccess,
) -> None:
    """Delete a deployment; a production one needs the admin role."""
    await service.delete_deployment(
        session, access.cluster(ctx), access.organization_id, access.role, name, audit
    )


@router.get("/{name}/events", operation_id="list_deployment_events")
async def list_deployment_events(
    name: DeploymentName, session: SessionDep, ctx: Ctx, access: DeploymentReadAccess
) -> Envelope[list[ClusterEvent]]:
    """The Kubernetes Events about the deployment, oldest first."""
    return ok(
        await service.deployment_events(session, access.cluster(ctx), access.organization_id, name)
    )


@router.get("/{name}/metrics", operation_id="get_deployment_metrics")
async def get_deployment_metrics(
    name: DeploymentName,
    session: SessionDep,
    ctx: Ctx,
    access: DeploymentReadAccess,
    range_: Annotated[
        str, Query(alias="range", max_length=16, description="How far back: 15m, 1h, 6h, 1d, 7d")
    ] = monitoring.DEFAULT_RANGE,
    step: Annotated[
        str | None,
        Query(max_length=16, description="Seconds between points (30s, 5m); default: range/120"),
    ] = None,
) -> Envelope[DeploymentMetrics]:
    """Request rate, 4xx and 5xx ratios, latency p50/p95/p99, schema violations and batch size
    of the deployment's serving pods, per ModelVersion, from Prometheus: at most 500 points per
    series, 503 when Prometheus cannot answer."""
    namespace, roles = await service.version_roles(
        session, access.cluster(ctx), access.organization_id, name
    )
    return ok(await monitoring.deployment_metrics(ctx, namespace, name, roles, range_, step))


def _caller(permission: Permission) -> Any:
    """`Depends(...)`: the caller of a rollout action, holding `permission`."""

    guard = require(permission)

    async def build(
        session: SessionDep, ctx: Ctx, audit: Audit, access: OrgAccess = guard
    ) -> rollouts.Caller:
        user = access.principal.user_id
        return rollouts.Caller(
            session,
            access.cluster(ctx),
            access.organization_id,
            access.role,
            user,
            audit,
            ctx.mirror,
        )

    return Depends(build)


RolloutCaller = Annotated[rollouts.Caller, _caller(Permission.DEPLOYMENT_UPDATE)]
ProductionCaller = Annotated[rollouts.Caller, _caller(Permission.DEPLOYMENT_PRODUCTION)]


@router.post(
    "/{name}/rollouts",
    status_code=status.HTTP_201_CREATED,
    operation_id="start_rollout",
    openapi_extra=audited("deployment.rollout", "model_deployment"),
)
async def start_rollout(
    name: DeploymentName, body: RolloutCreate, caller: RolloutCaller
) -> Envelope[DeploymentPublic]:
    """Roll out a Ready version as the candidate: a preset (`canary`, `all-at-once`) or your
    own steps and checks."""
    return ok(await rollouts.start_rollout(caller, name, body))


@router.get("/{name}/rollouts", operation_id="list_rollouts")
async def list_rollouts(
    name: DeploymentName,
    session: SessionDep,
    ctx: Ctx,
    paging: Paging,
    access: DeploymentReadAccess,
) -> PageEnvelope[RolloutPublic]:
    """The deployment's rollouts, newest first: who, when, from and to which version, outcome
    and why."""
    items, total = await rollouts.list_rollouts(
        session, access.cluster(ctx), ctx.mirror, access.organization_id, name, paging
    )
    return page(items, page=paging.page, limit=paging.limit, total=total)


@router.post(
    "/{name}/promote",
    operation_id="promote_rollout",
    openapi_extra=audited("deployment.promote", "model_deployment"),
)
async def promote_rollout(
    name: DeploymentName, caller: RolloutCaller, body: RolloutAction | None = None
) -> Envelope[DeploymentPublic]:
    """Move the rollout past the pause, analysis or manual promotion it waits at."""
    action = body or RolloutAction()
    return ok(await rollouts.signal_rollout(caller, name, rollouts.PROMOTE, action))


@router.post(
    "/{name}/pause",
    operation_id="pause_rollout",
    openapi_extra=audited("deployment.pause", "model_deployment"),
)
async def pause_rollout(
    name: DeploymentName, caller: RolloutCaller, body: RolloutAction | None = None
) -> Envelope[DeploymentPublic]:
    """Hold the rollout where it is (`spec.paused`): no step completes, no analysis runs, the
    traffic split stays."""
    return ok(await rollouts.pause_rollout(caller, name, True, body or RolloutAction()))


@router.post(
    "/{name}/resume",
    operation_id="resume_rollout",
    openapi_extra=audited("deployment.resume", "model_deployment"),
)
async def resume_rollout(
    name: DeploymentName, caller: RolloutCaller, body: RolloutAction | None = None
) -> Envelope[DeploymentPublic]:
    """Go on: un-pause a rollout paused by hand, else end the pause step without a duration
    (or the pause after failed analysis, `onFailure: pause`) it holds at."""
    return ok(await rollouts.resume_rollout(caller, name, body or RolloutAction()))


@router.post(
    "/{name}/rollback",
    operation_id="rollback_rollout",
    openapi_extra=audited("deployment.rollback", "model_deployment"),
)
async def rollback_rollout(
    name: DeploymentName, caller: RolloutCaller, body: RolloutAction | None = None
) -> Envelope[DeploymentPublic]:
    """Abort the rollout: all traffic back to the serving version, the candidate scaled away."""
    return ok(await rollouts.rollback_rollout(caller, name, body or RolloutAction()))


@router.post(
    "/{name}/promote-to-production",
    operation_id="promote_to_production",
    openapi_extra=audited("deployment.promote_to_production", "model_deployment"),
)
async def promote_to_production(
    name: DeploymentName, caller: ProductionCaller, body: ProductionPromotion | None = None
) -> Envelope[ProductionPromotionPublic]:
    """Copy this staging deployment's serving version into the model's production deployment
    (created when absent, else as a rollout there). Admin only."""
    return ok(await rollouts.promote_to_production(caller, name, body or ProductionPromotion()))
