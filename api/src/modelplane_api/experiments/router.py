"""Routes of `/api/v1/organizations/{org_id}/experiments` and `…/runs`: the organization's
MLflow experiments and runs for the dashboard, in the envelope, with cursor pagination (the
standard `mlflow` client has `…/mlflow/…` instead, see `modelplane_api.tracking`)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from modelplane_api.audit.recorder import audited
from modelplane_api.deps import Audit, Ctx, OrgAccess, SessionDep, known_filters, require
from modelplane_api.envelope import ERROR_RESPONSES, CursorEnvelope, Envelope, cursor_page, ok
from modelplane_api.errors import BadRequest
from modelplane_api.experiments import service
from modelplane_api.experiments.schemas import (
    EXPERIMENT_ID,
    RUN_ID,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentUpdate,
    MetricHistory,
    RunComparison,
    RunDetail,
    RunStatus,
    RunSummary,
)
from modelplane_api.pagination import MAX_LIMIT
from modelplane_api.permissions import Permission

router = APIRouter(
    prefix="/organizations/{org_id}", tags=["experiments"], responses=ERROR_RESPONSES
)
ExperimentId = Annotated[str, Path(pattern=EXPERIMENT_ID)]
RunId = Annotated[str, Path(pattern=RUN_ID)]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="`meta.next_cursor` of the previous page")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
ReadAccess = Annotated[OrgAccess, require(Permission.EXPERIMENT_READ)]
WriteAccess = Annotated[OrgAccess, require(Permission.EXPERIMENT_WRITE)]
DeleteAccess = Annotated[OrgAccess, require(Permission.EXPERIMENT_DELETE)]


@router.get("/experiments", operation_id="list_experiments")
async def list_experiments(
    session: SessionDep,
    ctx: Ctx,
    access: ReadAccess,
    _: Annotated[None, known_filters("name")],
    cursor: Cursor = None,
    limit: Limit = 50,
    sort: Annotated[str, Query(pattern=r"^-?(name|created_at|updated_at)$")] = "-created_at",
    name: Annotated[str | None, Query(alias="filter[name]", max_length=200)] = None,
) -> CursorEnvelope[ExperimentPublic]:
    """The organization's active experiments (`filter[name]`: a part of the name, any case)."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    found, next_cursor = await service.list_experiments(ws, name, sort, limit, cursor)
    return cursor_page(found, limit=limit, next_cursor=next_cursor)


@router.post(
    "/experiments",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_experiment",
    openapi_extra=audited("experiment.create", "experiment"),
)
async def create_experiment(
    body: ExperimentCreate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: WriteAccess,
) -> Envelope[ExperimentPublic]:
    """A new experiment; 409 when the organization has one of that name."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    return ok(await service.create_experiment(ws, body, audit))


@router.get("/experiments/{experiment_id}", operation_id="get_experiment")
async def get_experiment(
    experiment_id: ExperimentId, session: SessionDep, ctx: Ctx, access: ReadAccess
) -> Envelope[ExperimentPublic]:
    """One experiment."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    return ok(await service.get_experiment(ws, experiment_id))


@router.patch(
    "/experiments/{experiment_id}",
    operation_id="rename_experiment",
    openapi_extra=audited("experiment.update", "experiment"),
)
async def rename_experiment(
    experiment_id: ExperimentId,
    body: ExperimentUpdate,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: WriteAccess,
) -> Envelope[ExperimentPublic]:
    """Rename an experiment."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    return ok(await service.rename_experiment(ws, experiment_id, body.name, audit))


@router.delete(
    "/experiments/{experiment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_experiment",
    openapi_extra=audited("experiment.delete", "experiment"),
)
async def delete_experiment(
    experiment_id: ExperimentId,
    session: SessionDep,
    ctx: Ctx,
    audit: Audit,
    access: DeleteAccess,
) -> None:
    """Delete an experiment and its runs (restorable in MLflow)."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    await service.delete_experiment(ws, experiment_id, audit)


@router.get("/runs", operation_id="search_runs")
async def search_runs(
    session: SessionDep,
    ctx: Ctx,
    access: ReadAccess,
    experiment_id: Annotated[
        list[str], Query(max_length=100, description="Repeatable; none: every experiment")
    ] = [],  # noqa: B006 (FastAPI copies defaults)
    query: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="MLflow's search syntax: `metrics.auc > 0.9 and params.depth = '4'`",
        ),
    ] = None,
    run_status: Annotated[RunStatus | None, Query(alias="status")] = None,
    sort: Annotated[
        str,
        Query(
            max_length=260,
            description="`name`, `started_at`, `ended_at`, `status`, `metrics.<key>`, "
            "`params.<key>` or `tags.<key>`; `-` descending",
        ),
    ] = "-started_at",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorEnvelope[RunSummary]:
    """Runs of the organization's experiments with their params, latest metrics and tags."""
    bad = [e for e in experiment_id if not re.fullmatch(EXPERIMENT_ID, e)]
    if bad:
        raise BadRequest(f"not experiment ids: {', '.join(repr(v[:40]) for v in bad[:5])}")
    ws = await service.workspace_of(session, ctx, access.organization_id)
    found, next_cursor = await service.search_runs(
        ws, experiment_id, query, run_status, sort, limit, cursor
    )
    return cursor_page(found, limit=limit, next_cursor=next_cursor)


@router.get("/runs/metrics", operation_id="get_metric_histories")
async def get_metric_histories(
    session: SessionDep,
    ctx: Ctx,
    access: ReadAccess,
    run_id: Annotated[list[str], Query(min_length=1, max_length=100)],
    key: Annotated[str, Query(min_length=1, max_length=250)],
    points: Annotated[int, Query(ge=10, le=2500, description="Points per run at most")] = 500,
) -> Envelope[list[MetricHistory]]:
    """One metric's history for up to 100 runs in one call, each sampled to `points` steps."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    return ok(await service.metric_histories(ws, _run_ids(run_id), key, points))


@router.get("/runs/compare", operation_id="compare_runs")
async def compare_runs(
    session: SessionDep,
    ctx: Ctx,
    access: ReadAccess,
    run_id: Annotated[list[str], Query(min_length=2, max_length=20)],
) -> Envelope[RunComparison]:
    """2–20 runs side by side: the params that differ first, latest metrics by key."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    return ok(await service.compare_runs(ws, _run_ids(run_id)))


@router.get("/runs/{run_id}", operation_id="get_run")
async def get_run(
    run_id: RunId, session: SessionDep, ctx: Ctx, access: ReadAccess
) -> Envelope[RunDetail]:
    """One run: params, latest metrics, tags and its artifact tree."""
    ws = await service.workspace_of(session, ctx, access.organization_id)
    return ok(await service.get_run(ws, run_id))


def _run_ids(values: list[str]) -> list[str]:
    """400 naming what is not a run id."""
    bad = [v for v in values if not re.fullmatch(RUN_ID, v)]
    if bad:
        raise BadRequest(f"not run ids: {', '.join(repr(v[:40]) for v in bad[:5])}")
    return values
