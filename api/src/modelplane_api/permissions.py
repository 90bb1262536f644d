"""Roles and the one permission table of the facade.

Admin / Developer / Viewer are the same three roles the operator maps to the ClusterRoles
`modelplane-admin`, `modelplane-developer`, `modelplane-viewer`. Every organization-scoped route
names exactly one permission (`require(...)` in `deps.py`); the tests generate the role × route
matrix from this table, so a new route cannot ship without a decision here.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"


class KeyScope(StrEnum):
    """What an API key may do with its role: `full` (all of it) or `inference` (only call
    deployments and send their ground truth: the key an application embeds)."""

    FULL = "full"
    INFERENCE = "inference"


class Permission(StrEnum):
    ORGANIZATION_READ = "organization:read"
    ORGANIZATION_UPDATE = "organization:update"
    MEMBER_READ = "member:read"
    MEMBER_CREATE = "member:create"
    MEMBER_UPDATE = "member:update"
    MEMBER_DELETE = "member:delete"
    PROJECT_READ = "project:read"
    PROJECT_CREATE = "project:create"
    PROJECT_UPDATE = "project:update"
    PROJECT_DELETE = "project:delete"
    API_KEY_READ = "api_key:read"
    API_KEY_CREATE = "api_key:create"
    API_KEY_DELETE = "api_key:delete"
    AUDIT_READ = "audit:read"
    USAGE_READ = "usage:read"
    """Requests and predictions per deployment per day, for the whole organization."""
    MODEL_READ = "model:read"
    MODEL_CREATE = "model:create"
    MODEL_UPDATE = "model:update"
    MODEL_DELETE = "model:delete"
    MODEL_VERSION_CREATE = "model_version:create"
    MONITOR_READ = "monitor:read"
    MONITOR_CREATE = "monitor:create"
    MONITOR_UPDATE = "monitor:update"
    MONITOR_DELETE = "monitor:delete"
    DEPLOYMENT_READ = "deployment:read"
    DEPLOYMENT_CREATE = "deployment:create"
    DEPLOYMENT_UPDATE = "deployment:update"
    DEPLOYMENT_DELETE = "deployment:delete"
    DEPLOYMENT_PRODUCTION = "deployment:production"
    """Create, change or delete a production deployment (on top of the route's permission)."""
    DEPLOYMENT_INFER = "deployment:infer"
    """Call a deployment's inference endpoint through the facade."""
    DEPLOYMENT_PAYLOADS = "deployment:payloads"
    """Read a deployment's payload logs (its callers' inputs and predictions)."""
    DEPLOYMENT_FEEDBACK = "deployment:feedback"
    """Send a deployment's ground truth (feedback rows)."""
    EXPERIMENT_READ = "experiment:read"
    """Read the organization's MLflow experiments, runs, metrics and artifacts."""
    EXPERIMENT_WRITE = "experiment:write"
    """Create experiments and runs, log metrics, params, tags, artifacts and logged models."""
    EXPERIMENT_DELETE = "experiment:delete"
    """Delete or restore experiments, runs, artifacts and logged models."""


_VIEWER = frozenset(
    {
        Permission.ORGANIZATION_READ,
        Permission.MEMBER_READ,
        Permission.PROJECT_READ,
        Permission.MODEL_READ,
        Permission.MONITOR_READ,
        Permission.DEPLOYMENT_READ,
        Permission.DEPLOYMENT_INFER,
        Permission.EXPERIMENT_READ,
    }
)
_DEVELOPER = _VIEWER | {
    Permission.PROJECT_CREATE,
    Permission.PROJECT_UPDATE,
    Permission.MODEL_CREATE,
    Permission.MODEL_UPDATE,
    Permission.MODEL_VERSION_CREATE,
    Permission.MONITOR_CREATE,
    Permission.MONITOR_UPDATE,
    Permission.MONITOR_DELETE,
    Permission.DEPLOYMENT_CREATE,
    Permission.DEPLOYMENT_UPDATE,
    Permission.DEPLOYMENT_DELETE,
    Permission.DEPLOYMENT_PAYLOADS,
    Permission.DEPLOYMENT_FEEDBACK,
    Permission.EXPERIMENT_WRITE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.DEVELOPER: frozenset(_DEVELOPER),
    Role.ADMIN: frozenset(Permission),
}


SCOPE_PERMISSIONS: dict[KeyScope, frozenset[Permission]] = {
    KeyScope.FULL: frozenset(Permission),
    KeyScope.INFERENCE: frozenset({Permission.DEPLOYMENT_INFER, Permission.DEPLOYMENT_FEEDBACK}),
}


def allows(role: Role, permission: Permission, scope: KeyScope = KeyScope.FULL) -> bool:
    """Whether a role carries a permission (for an API key: within the key's scope)."""
    return permission in ROLE_PERMISSIONS[role] and permission in SCOPE_PERMISSIONS[scope]
