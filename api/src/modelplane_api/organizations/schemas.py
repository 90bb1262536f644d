"""Request and response bodies of organizations and members."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from modelplane_api.permissions import Role
from modelplane_api.schemas import Email, InputSchema, OutputSchema

SLUG_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class OrganizationCreate(InputSchema):
    slug: str = Field(
        min_length=1,
        max_length=40,
        pattern=SLUG_PATTERN,
        description="DNS label; the namespace becomes `mp-<slug>`. Immutable.",
    )
    display_name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class OrganizationUpdate(InputSchema):
    """Fields to change; absent or null fields stay as they are."""

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class OrganizationPublic(OutputSchema):
    id: uuid.UUID
    slug: str
    display_name: str
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
    role: Role = Field(description="The caller's role in this organization")


class MemberCreate(InputSchema):
    email: Email
    role: Role


class MemberUpdate(InputSchema):
    role: Role


class MemberPublic(OutputSchema):
    user_id: uuid.UUID
    email: str
    display_name: str
    role: Role
    created_at: datetime
