"""Every table of the facade, imported in one place for Alembic and the schema tests."""

from modelplane_api.audit.models import AuditEvent
from modelplane_api.auth.models import ApiKey, RefreshToken, User
from modelplane_api.db import Base
from modelplane_api.deployments.models import Rollout
from modelplane_api.organizations.models import Membership, Organization
from modelplane_api.outbox.models import OutboxEntry
from modelplane_api.projects.models import Project
from modelplane_api.registry.models import RegisteredModel, RegisteredVersion

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "Membership",
    "Organization",
    "OutboxEntry",
    "Project",
    "RefreshToken",
    "RegisteredModel",
    "RegisteredVersion",
    "Rollout",
    "User",
]
