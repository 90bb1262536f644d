"""Each organization's MLflow workspace (`mp-<slug>`), created when the organization is.

`service.create` asks MLflow for the workspace right after the organization's resource is
applied. MLflow is best effort there, as for the registry's mirror (`mlflow_mirror`): when it
does not take the workspace, the organization is created all the same and its row keeps why
(`mlflow_error`) and when to try again (`mlflow_next_attempt_at`, the mirror's schedule);
`create_pending` — run by the registry's periodic `mirror_pending` — creates it then. Callers
that need the workspace (the tracking proxy, the dashboard's experiments, the registry's
mirror) still create it when missing, so a call made before the retry succeeds works too.
"""

from __future__ import annotations

import logging
from datetime import datetime

from modelplane_api.context import AppContext
from modelplane_api.errors import ServiceUnavailable
from modelplane_api.mlflow_mirror import MirrorOutcome, RegistryMirror, note_failure
from modelplane_api.organizations import repository
from modelplane_api.organizations.models import Organization
from modelplane_api.registry.resources import namespace_of

log = logging.getLogger("modelplane_api.organizations")


async def create_workspace(
    mirror: RegistryMirror, org: Organization, now: datetime
) -> MirrorOutcome:
    """Create the organization's workspace (an existing one is fine); when MLflow does not
    take it, the row keeps why and when to try again. Never raises for MLflow's sake."""
    workspace = namespace_of(org.slug)
    try:
        await mirror.ensure_workspace(workspace)
    except ServiceUnavailable as exc:
        outcome = note_failure(org, exc, now)
        log.warning(
            "MLflow workspace not created yet",
            extra={"object": workspace, "error": exc.message},
        )
        return outcome
    org.mlflow_workspace_at, org.mlflow_error, org.mlflow_next_attempt_at = now, None, None
    return "mirrored"


async def create_pending(ctx: AppContext) -> int:
    """Create the workspaces MLflow has not taken yet and that are due; how many now. Each
    organization retries on its own schedule; an MLflow that does not answer at all ends the
    pass (it would not answer the next organization either)."""
    created = 0
    async with ctx.sessions() as session:
        now = ctx.clock()
        for org in await repository.pending_workspaces(session, now):
            outcome = await create_workspace(ctx.mirror, org, now)
            created += outcome == "mirrored"
            if outcome == "unreachable":
                break
        await session.commit()
    return created
