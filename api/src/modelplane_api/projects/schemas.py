"""Request and response bodies of projects."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from modelplane_api.schemas import InputSchema, OutputSchema

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$"


class ProjectCreate(InputSchema):
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    description: str = Field(default="", max_length=2000)


class ProjectUpdate(InputSchema):
    """Fields to change; absent or null fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    description: str | None = Field(default=None, max_length=2000)


class ProjectPublic(OutputSchema):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
