"""Request and response bodies of the auth endpoints and API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from modelplane_api.schemas import Email, InputSchema, OutputSchema


class UserCreate(InputSchema):
    email: Email
    password: str = Field(min_length=12, max_length=256)
    display_name: str = Field(min_length=1, max_length=200)


class UserPublic(OutputSchema):
    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime


class LoginRequest(InputSchema):
    email: Email
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(InputSchema):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokenPublic(OutputSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  # a token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str
