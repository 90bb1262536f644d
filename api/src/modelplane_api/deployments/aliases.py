"""MLflow registry aliases that follow deployments: `staging` and `production` name the version
a deployment of that environment serves, `candidate` the version being rolled out (removed when
no rollout runs). Set after every facade action on a deployment and whenever the facade sees an
ended rollout; best effort — MLflow being down never fails a deployment (the next action or
look sets them again), and the failure is logged."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from modelplane_api.errors import ServiceUnavailable
from modelplane_api.mlflow_mirror import RegistryMirror
from modelplane_api.registry.repository import find_version_by_resource
from modelplane_crds import labels

log = logging.getLogger("modelplane_api.deployments.aliases")
CANDIDATE = "candidate"


def serving_version(obj: dict[str, Any]) -> str:
    """The version the operator reports serving, else the one the spec names as stable."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    named = str(((spec.get("stable") or {}).get("modelVersionRef") or {}).get("name"))
    return str(status.get("stableVersion") or named)


def rollout_candidate(obj: dict[str, Any]) -> str | None:
    """The candidate being rolled out, if a rollout is under way (not promoted, not rejected)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    candidate = ((spec.get("candidate") or {}).get("modelVersionRef") or {}).get("name")
    if not candidate or candidate == status.get("stableVersion"):
        return None
    rejected = (status.get("rollback") or {}).get("rejectedVersion")
    if status.get("rolloutState") == "RolledBack" and rejected == candidate:
        return None
    return str(candidate)


async def _mlflow_version(
    session: AsyncSession, organization_id: uuid.UUID, resource: str | None
) -> str | None:
    if resource is None:
        return None
    found = await find_version_by_resource(session, organization_id, resource)
    return found.mlflow_version if found is not None else None


async def follow(
    session: AsyncSession,
    mirror: RegistryMirror,
    organization_id: uuid.UUID,
    obj: dict[str, Any],
) -> dict[str, str | None]:
    """Set the aliases of the deployment's model from its spec and status; what was set (alias
    → MLflow version, None: removed). Nothing for a deployment without a registry model."""
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    model = (meta.get("labels") or {}).get(labels.MODEL)
    if not model:
        return {}
    environment = str(spec.get("environment") or "staging")
    serving = await _mlflow_version(session, organization_id, serving_version(obj))
    candidate = await _mlflow_version(session, organization_id, rollout_candidate(obj))
    wanted: dict[str, str | None] = {CANDIDATE: candidate}
    if serving is not None:
        wanted[environment] = serving
    workspace = str(meta.get("namespace"))
    try:
        for alias, version in wanted.items():
            await mirror.set_alias(workspace, str(model), alias, version)
    except ServiceUnavailable as exc:
        log.warning(
            "MLflow aliases not updated",
            extra={"object": f"{workspace}/{meta.get('name')}", "error": exc.message},
        )
        return {}
    return wanted
