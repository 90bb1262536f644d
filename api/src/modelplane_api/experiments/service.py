"""The dashboard's experiments and runs, read from and written to the organization's MLflow
workspace through the facade's own connection (`TrackingProxy.call`), never a header the
caller chose. A run id is only ever used after it was found in the workspace: MLflow's bulk
metric API does not check workspaces itself."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.context import AppContext
from modelplane_api.errors import BadRequest, NotFound
from modelplane_api.experiments.schemas import (
    ArtifactEntry,
    ComparedValue,
    ExperimentCreate,
    ExperimentPublic,
    MetricHistory,
    MetricPoint,
    RunComparison,
    RunDetail,
    RunStatus,
    RunSummary,
    from_ms,
    pairs,
)
from modelplane_api.organizations import repository as org_repo
from modelplane_api.registry.resources import namespace_of

V2 = "api/2.0/mlflow"
EXPERIMENT_SORTS = {
    "name": "name",
    "created_at": "creation_time",
    "updated_at": "last_update_time",
}
RUN_ATTRIBUTES = {
    "name": "attributes.run_name",
    "started_at": "attributes.start_time",
    "ended_at": "attributes.end_time",
    "status": "attributes.status",
}
RUN_SORT = re.compile(r"^(metrics|params|tags)\.([A-Za-z0-9_.\-/ ]{1,250})$")
NAME_FILTER = re.compile(r"^[^'\"\\%_]{1,200}$")
ARTIFACT_DEPTH, ARTIFACT_LIMIT = 4, 500
MAX_EXPERIMENTS = 1000
"""Experiments searched when a run search names none (or when runs are looked up by id)."""


def page_token(cursor: str | None) -> str | None:
    """MLflow's page token from a cursor, checked first (MLflow fails with a 500 on a token it
    cannot decode): base64 of a JSON object, as MLflow writes them."""
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.b64decode(cursor, validate=True))
    except (binascii.Error, ValueError):
        decoded = None
    if not isinstance(decoded, dict):
        raise BadRequest("cursor is not one this endpoint gave (use meta.next_cursor)")
    return cursor


class Workspace:
    """An organization's MLflow workspace, as the facade calls it."""

    def __init__(self, ctx: AppContext, name: str) -> None:
        self.ctx, self.name = ctx, name

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self.ctx.tracking.call(self.name, method, path, params=params, body=body)


async def workspace_of(
    session: AsyncSession, ctx: AppContext, organization_id: uuid.UUID
) -> Workspace:
    """The organization's workspace, created when missing."""
    organization = await org_repo.get_organization(session, organization_id)
    if organization is None:
        raise NotFound("organization not found")
    name = namespace_of(organization.slug)
    await ctx.mirror.ensure_workspace(name)
    return Workspace(ctx, name)


def _order(sort: str, columns: dict[str, str], *, by_data: bool = False) -> str:
    """MLflow's `order_by` of a `sort` (`-` descending); with `by_data`, `metrics.<key>`,
    `params.<key>` and `tags.<key>` too."""
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    column = columns.get(key)
    if column is None:
        found = RUN_SORT.fullmatch(key) if by_data else None
        if found is None:
            data = ", metrics.<key>, params.<key>, tags.<key>" if by_data else ""
            allowed = ", ".join(sorted(columns)) + data
            raise BadRequest(f"cannot sort by {key!r}; sort by one of {allowed} (- descending)")
        column = f"{found[1]}.`{found[2]}`"
    return f"{column} {'DESC' if descending else 'ASC'}"


async def list_experiments(
    ws: Workspace, name: str | None, sort: str, limit: int, cursor: str | None
) -> tuple[list[ExperimentPublic], str | None]:
    """A page of the workspace's active experiments; (experiments, next cursor)."""
    body: dict[str, Any] = {
        "max_results": limit,
        "order_by": [_order(sort, EXPERIMENT_SORTS)],
        "view_type": "ACTIVE_ONLY",
    }
    if name:
        if not NAME_FILTER.fullmatch(name):
            raise BadRequest("filter[name] may not contain quotes, backslashes, % or _")
        body["filter"] = f"name ILIKE '%{name}%'"
    if token := page_token(cursor):
        body["page_token"] = token
    found = await ws.call("POST", f"{V2}/experiments/search", body=body)
    experiments = [ExperimentPublic.of(e) for e in found.get("experiments") or []]
    return experiments, found.get("next_page_token") or None


async def get_experiment(ws: Workspace, experiment_id: str) -> ExperimentPublic:
    """One experiment of the workspace (404 for another's)."""
    found = await ws.call("GET", f"{V2}/experiments/get", params=[("experiment_id", experiment_id)])
    return ExperimentPublic.of(found.get("experiment") or {})


async def create_experiment(
    ws: Workspace, body: ExperimentCreate, audit: AuditContext
) -> ExperimentPublic:
    """A new experiment (409 when the name is taken in the organization)."""
    tags = [{"key": k, "value": v} for k, v in body.tags.items()]
    created = await ws.call(
        "POST", f"{V2}/experiments/create", body={"name": body.name, "tags": tags}
    )
    experiment = await get_experiment(ws, str(created.get("experiment_id", "")))
    audit.resource_id, audit.after = experiment.id, {"name": experiment.name}
    return experiment


async def rename_experiment(
    ws: Workspace, experiment_id: str, name: str, audit: AuditContext
) -> ExperimentPublic:
    """Rename an experiment."""
    before = await get_experiment(ws, experiment_id)
    await ws.call(
        "POST", f"{V2}/experiments/update",
        body={"experiment_id": experiment_id, "new_name": name},
    )  # fmt: skip
    audit.resource_id, audit.before, audit.after = (
        experiment_id,
        {"name": before.name},
        {"name": name},
    )
    return await get_experiment(ws, experiment_id)


async def delete_experiment(ws: Workspace, experiment_id: str, audit: AuditContext) -> None:
    """Delete an experiment (MLflow keeps it restorable; its runs go with it)."""
    before = await get_experiment(ws, experiment_id)
    await ws.call("POST", f"{V2}/experiments/delete", body={"experiment_id": experiment_id})
    audit.resource_id, audit.before = experiment_id, {"name": before.name}


async def _experiment_ids(ws: Workspace) -> list[str]:
    """Every active experiment of the workspace (up to `MAX_EXPERIMENTS`)."""
    ids: list[str] = []
    token: str | None = None
    while len(ids) < MAX_EXPERIMENTS:
        body: dict[str, Any] = {"max_results": 1000, "view_type": "ACTIVE_ONLY"}
        if token:
            body["page_token"] = token
        found = await ws.call("POST", f"{V2}/experiments/search", body=body)
        ids += [str(e.get("experiment_id")) for e in found.get("experiments") or []]
        token = found.get("next_page_token")
        if not token:
            break
    return ids[:MAX_EXPERIMENTS]


async def search_runs(
    ws: Workspace,
    experiment_ids: list[str],
    query: str | None,
    status: RunStatus | None,
    sort: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[RunSummary], str | None]:
    """A page of runs of the named experiments (all of the organization's when none), filtered
    by MLflow's search syntax (`metrics.auc > 0.9 and params.depth = '4'`) and status."""
    ids = experiment_ids or await _experiment_ids(ws)
    if not ids:
        return [], None
    clauses = [query] if query else []  # MLflow's syntax has AND only: no parentheses needed
    if status is not None:
        clauses.append(f"attributes.status = '{status}'")
    body: dict[str, Any] = {
        "experiment_ids": ids,
        "filter": " and ".join(clauses),
        "run_view_type": "ACTIVE_ONLY",
        "max_results": limit,
        "order_by": [_order(sort, RUN_ATTRIBUTES, by_data=True)],
    }
    if token := page_token(cursor):
        body["page_token"] = token
    found = await ws.call("POST", f"{V2}/runs/search", body=body)
    return [RunSummary.of(r) for r in found.get("runs") or []], found.get("next_page_token") or None


async def _artifacts(ws: Workspace, run_id: str) -> tuple[list[ArtifactEntry], bool]:
    """The run's artifact tree, breadth first; (entries, truncated)."""
    entries: list[ArtifactEntry] = []
    folders: list[tuple[str | None, int]] = [(None, 0)]
    while folders:
        folder, depth = folders.pop(0)
        params = [("run_id", run_id)] + ([("path", folder)] if folder else [])
        listed = await ws.call("GET", f"{V2}/artifacts/list", params=params)
        for item in sorted(
            listed.get("files") or [], key=lambda f: (not f.get("is_dir"), f.get("path", ""))
        ):
            if len(entries) >= ARTIFACT_LIMIT:
                return entries, True
            is_dir = bool(item.get("is_dir"))
            size = item.get("file_size")
            entries.append(
                ArtifactEntry(
                    path=str(item.get("path", "")),
                    is_dir=is_dir,
                    size=None if is_dir or size is None else int(size),
                )
            )
            if is_dir and depth + 1 < ARTIFACT_DEPTH:
                folders.append((str(item.get("path")), depth + 1))
    return entries, False


async def get_run(ws: Workspace, run_id: str) -> RunDetail:
    """One run with every param, latest metric, tag and its artifact tree."""
    raw = (await ws.call("GET", f"{V2}/runs/get", params=[("run_id", run_id)])).get("run") or {}
    summary = RunSummary.of(raw)
    artifacts, truncated = await _artifacts(ws, run_id)
    tags = pairs((raw.get("data") or {}).get("tags"))
    return RunDetail(
        **summary.model_dump(),
        system_tags={k: v for k, v in tags.items() if k.startswith("mlflow.")},
        artifacts=artifacts,
        artifacts_truncated=truncated,
    )


async def _own_runs(ws: Workspace, run_ids: list[str]) -> dict[str, RunSummary]:
    """The runs among `run_ids` that belong to the workspace, by id; 404 naming the others."""
    wanted = list(dict.fromkeys(run_ids))
    ids = await _experiment_ids(ws)
    found: dict[str, RunSummary] = {}
    if ids:
        listed = ", ".join(f"'{r}'" for r in wanted)
        answer = await ws.call(
            "POST", f"{V2}/runs/search",
            body={"experiment_ids": ids, "filter": f"attributes.run_id IN ({listed})",
                  "run_view_type": "ALL", "max_results": len(wanted)},
        )  # fmt: skip
        found = {run.id: run for run in map(RunSummary.of, answer.get("runs") or [])}
    missing = [r for r in wanted if r not in found]
    if missing:
        raise NotFound(f"no run {', '.join(missing[:5])} in this organization")
    return {r: found[r] for r in wanted}


async def metric_histories(
    ws: Workspace, run_ids: list[str], key: str, points: int
) -> list[MetricHistory]:
    """A metric's history for each run, each sampled by MLflow to at most `points` steps."""
    runs = await _own_runs(ws, run_ids)
    params = [("run_ids", r) for r in runs] + [("metric_key", key), ("max_results", str(points))]
    found = await ws.call("GET", f"{V2}/metrics/get-history-bulk-interval", params=params)
    series: dict[str, list[MetricPoint]] = {r: [] for r in runs}
    for metric in found.get("metrics") or []:
        run = str(metric.get("run_id"))
        if run in series:
            series[run].append(
                MetricPoint(
                    step=int(metric.get("step", 0)),
                    value=float(metric.get("value", "nan")),
                    timestamp=from_ms(metric.get("timestamp")),
                )
            )
    return [
        MetricHistory(run_id=r, key=key, points=sorted(p, key=lambda x: x.step))
        for r, p in series.items()
    ]


def _compared(runs: list[RunSummary], values: list[dict[str, Any]]) -> list[ComparedValue]:
    keys = sorted({k for v in values for k in v})
    compared = [
        ComparedValue(
            key=key,
            values={run.id: value.get(key) for run, value in zip(runs, values, strict=True)},
            differs=len({repr(value.get(key)) for value in values}) > 1,
        )
        for key in keys
    ]
    return sorted(compared, key=lambda c: (not c.differs, c.key))


async def compare_runs(ws: Workspace, run_ids: list[str]) -> RunComparison:
    """2–20 runs side by side: params (those that differ first) and latest metrics."""
    runs = list((await _own_runs(ws, run_ids)).values())
    if len(runs) < 2:
        raise BadRequest("compare at least two different runs")
    return RunComparison(
        runs=runs,
        params=_compared(runs, [r.params for r in runs]),
        metrics=sorted(_compared(runs, [r.metrics for r in runs]), key=lambda c: c.key),
    )
