"""Request and response bodies of API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, Field

from modelplane_api.permissions import KeyScope, Role
from modelplane_api.schemas import InputSchema, OutputSchema


class ApiKeyCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    scope: KeyScope = Field(
        default=KeyScope.FULL,
        description="`full`: everything the role allows; `inference`: only the deployments' "
        "inference and feedback routes (the key an application embeds)",
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the key stops working; must be in the future"
    )


class ApiKeyPublic(OutputSchema):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    role: Role
    scope: KeyScope
    prefix: str
    created_at: datetime
    created_by: uuid.UUID | None
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret; shown once, store it now")
