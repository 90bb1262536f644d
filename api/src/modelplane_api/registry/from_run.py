"""Versions copied from an MLflow run of the organization's workspace (the `from-run` route):
the run's ONNX file is downloaded to a spool and handed to `versions.register`, so it passes
exactly what an upload passes.
"""

from __future__ import annotations

import math
import tempfile
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.audit.recorder import AuditContext
from modelplane_api.cluster import ClusterCaller
from modelplane_api.context import AppContext
from modelplane_api.errors import DomainError
from modelplane_api.registry.schemas import VersionFromRun, VersionOptions, VersionPublic
from modelplane_api.registry.service import get_model_or_404, writable_namespace
from modelplane_api.registry.uploads import RegistryConfig, Submission, Upload
from modelplane_api.registry.versions import Commit, RunProvenance, register

MAX_METRICS = 50
"""Metrics kept on a ModelVersion (its CRD's limit)."""


async def create_version_from_run(
    session: AsyncSession,
    ctx: AppContext,
    organization_id: uuid.UUID,
    model_id: uuid.UUID,
    actor: uuid.UUID | None,
    data: VersionFromRun,
    audit: AuditContext,
    commit: Commit,
    *,
    caller: ClusterCaller,
) -> tuple[VersionPublic, bool]:
    """Copy the ONNX model logged in an MLflow run of the organization's workspace into the
    registry, then register it like an upload (the same policy, digest and ModelVersion). Only
    the MLmodel file (YAML) and the ONNX file are read: nothing is ever unpickled."""
    model = await get_model_or_404(session, organization_id, model_id)
    namespace = await writable_namespace(session, ctx.gateway, organization_id)
    config = RegistryConfig.of(ctx)
    found = await ctx.mirror.find_run_model(namespace, data.run_id, data.path)
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        size = await ctx.mirror.download(
            namespace, found.artifact_path, spool, config.max_upload_bytes
        )
        options = VersionOptions(
            description=data.description or f"from MLflow run {data.run_id}",
            signature=data.signature,
            features=data.features,
        )
        upload = Submission(Upload(spool, size, found.artifact_path.rsplit("/", 1)[-1]), options)
        return await register(
            session, ctx, model, namespace, actor, upload, audit, commit,
            caller=caller, run=await run_provenance(ctx, namespace, data.run_id),
        )  # fmt: skip


async def run_provenance(ctx: AppContext, namespace: str, run_id: str) -> RunProvenance:
    """The run's experiment and latest metrics (finite values, at most `MAX_METRICS`, by key)
    to keep on the version; only the run id when MLflow cannot say."""
    try:
        found = await ctx.tracking.call(
            namespace, "GET", "api/2.0/mlflow/runs/get", params=[("run_id", run_id)]
        )
    except DomainError:
        return RunProvenance(run_id)
    run = found.get("run") or {}
    metrics: dict[str, float] = {}
    for metric in sorted(
        (run.get("data") or {}).get("metrics") or [], key=lambda m: str(m.get("key"))
    ):
        try:
            value = float(metric["value"])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(value) and len(metrics) < MAX_METRICS:
            metrics[str(metric["key"])[:250]] = value
    experiment = str((run.get("info") or {}).get("experiment_id") or "")
    return RunProvenance(run_id, experiment if experiment.isdigit() else None, metrics)
