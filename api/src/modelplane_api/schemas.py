"""Pydantic bases shared by every domain's schemas."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputSchema(BaseModel):
    """Base of request bodies: unknown fields are refused (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputSchema(BaseModel):
    """Base of response bodies: built from ORM rows, only the declared fields leave."""

    model_config = ConfigDict(from_attributes=True)
