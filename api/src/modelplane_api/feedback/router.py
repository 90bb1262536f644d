"""Routes of `/api/v1/organizations/{org_id}/deployments/{name}/feedback`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from modelplane_api.audit.recorder import audited
from modelplane_api.deployments.schemas import DeploymentName
from modelplane_api.deps import Audit, Ctx, DeploymentReadAccess, FeedbackAccess, SessionDep
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, ok
from modelplane_api.feedback import service
from modelplane_api.feedback.schemas import (
    REQUEST_ID_PATTERN,
    FeedbackBatch,
    FeedbackPublic,
    FeedbackWritten,
)
from modelplane_api.registry.service import organization_namespace

router = APIRouter(
    prefix="/organizations/{org_id}/deployments/{name}/feedback",
    tags=["deployments"],
    responses=ERROR_RESPONSES,
)
RequestId = Annotated[str, Query(pattern=REQUEST_ID_PATTERN)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="send_feedback",
    openapi_extra=audited("deployment.feedback", "model_deployment"),
)
async def send_feedback(
    name: DeploymentName,
    body: FeedbackBatch,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: FeedbackAccess,
) -> Envelope[FeedbackWritten]:
    """Store up to 10,000 ground-truth rows (`request_id`, `label` or `value`, `observed_at`)
    next to the deployment's payload logs; all or nothing, safe to retry."""
    namespace = await organization_namespace(session, access.organization_id)
    return ok(
        await service.write_feedback(
            access.cluster(ctx),
            ctx.payloads,
            namespace,
            name,
            ctx.settings.payload_bucket,
            body,
            ctx.clock(),
            audit,
        )
    )


@router.get("", operation_id="read_feedback")
async def read_feedback(
    name: DeploymentName,
    session: SessionDep,
    ctx: Ctx,
    access: DeploymentReadAccess,
    request_id: Annotated[list[RequestId], Query(min_length=1, max_length=1000)],
    since: Annotated[AwareDatetime | None, Query()] = None,
) -> Envelope[list[FeedbackPublic]]:
    """The stored feedback of the given request ids (the newest row of each), from the hours
    since `since` (default: the last 7 days)."""
    namespace = await organization_namespace(session, access.organization_id)
    start = since or datetime.now(UTC) - timedelta(days=7)
    return ok(
        await service.read_feedback(
            access.cluster(ctx),
            ctx.payloads,
            namespace,
            name,
            ctx.settings.payload_bucket,
            request_id,
            start,
        )
    )
