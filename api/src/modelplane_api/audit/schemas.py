"""Response bodies of the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from modelplane_api.schemas import OutputSchema

Outcome = Literal["success", "denied", "failure"]


class AuditEventPublic(OutputSchema):
    id: uuid.UUID
    created_at: datetime
    organization_id: uuid.UUID | None
    actor_type: str
    actor_id: uuid.UUID | None
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str
    status_code: int
    error_code: str | None
    request_id: str
    ip: str | None
    user_agent: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
