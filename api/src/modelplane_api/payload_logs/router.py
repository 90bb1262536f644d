"""Routes of `/api/v1/organizations/{org_id}/deployments/{name}/payload-logs`: the hour windows
of the requests a deployment logged, and a sample of a window as CSV or Parquet. Payloads are the
callers' data: reading them needs `deployment:payloads` (developers and admins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime

from modelplane_api.deployments.schemas import DeploymentName
from modelplane_api.deps import Ctx, PayloadReadAccess, SessionDep
from modelplane_api.envelope import ERROR_RESPONSES, Envelope, ok
from modelplane_api.payload_logs import service
from modelplane_api.payload_logs.schemas import VARIANT_PATTERN, PayloadWindows, SampleFormat
from modelplane_api.registry.service import organization_namespace

router = APIRouter(
    prefix="/organizations/{org_id}/deployments/{name}/payload-logs",
    tags=["deployments"],
    responses=ERROR_RESPONSES,
)
Variant = Annotated[str | None, Query(pattern=VARIANT_PATTERN, max_length=63)]
MAX_SAMPLE_ROWS = 100_000
SAMPLE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The sample: a CSV with a header row, or a Parquet file; "
        "`X-Modelplane-Matched-Rows` counts the window's rows before sampling, "
        "`X-Modelplane-Skipped-Files` the files that were not readable Parquet.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("", operation_id="list_payload_windows")
async def list_payload_windows(
    name: DeploymentName,
    session: SessionDep,
    ctx: Ctx,
    access: PayloadReadAccess,
    variant: Variant = None,
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
) -> Envelope[PayloadWindows]:
    """The hours of payload logs in [`since`, `until`) (default: the last 7 days), newest first,
    per variant (the ModelVersion that answered), with file count and size."""
    namespace = await organization_namespace(session, access.organization_id)
    end = until or ctx.clock() + timedelta(hours=1)
    start = since or end - timedelta(days=7)
    return ok(
        await service.list_windows(
            access.cluster(ctx), ctx.payloads, namespace, name, ctx.settings.payload_bucket,
            variant, start, end,
        )
    )  # fmt: skip


@router.get(
    "/sample",
    operation_id="download_payload_sample",
    response_class=Response,
    responses=SAMPLE_RESPONSE,
)
async def download_payload_sample(
    name: DeploymentName,
    session: SessionDep,
    ctx: Ctx,
    access: PayloadReadAccess,
    variant: Variant = None,
    start: Annotated[AwareDatetime | None, Query()] = None,
    end: Annotated[AwareDatetime | None, Query()] = None,
    rows: Annotated[int, Query(ge=1, le=MAX_SAMPLE_ROWS)] = 1000,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    format: Annotated[SampleFormat, Query()] = SampleFormat.CSV,
) -> Response:
    """Up to `rows` logged requests answered in [`start`, `end`) (default: the last hour),
    drawn uniformly at random (the same `seed` draws the same rows), in time order, as a CSV or
    Parquet download; one variant, or all of them."""
    namespace = await organization_namespace(session, access.organization_id)
    stop = end or ctx.clock()
    drawn = await service.sample(
        access.cluster(ctx), ctx.payloads, namespace, name, ctx.settings.payload_bucket, variant,
        start or stop - timedelta(hours=1), stop, rows, seed, format,
    )  # fmt: skip
    return Response(
        drawn.body,
        media_type=drawn.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{drawn.filename}"',
            "X-Modelplane-Matched-Rows": str(drawn.matched_rows),
            "X-Modelplane-Skipped-Files": str(drawn.skipped_files),
        },
    )
