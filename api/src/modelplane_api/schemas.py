"""Pydantic bases shared by every domain's schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# The HTML Living Standard's "valid email address" (a dotted domain required): addresses are
# identifiers here, not mail routes, so reserved and local domains (`admin@modelplane.local`) are
# fine — which the `email` format of email-validator refuses. Stored lower-cased.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$"
Email = Annotated[
    str,
    Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN),
    AfterValidator(str.lower),
]


class InputSchema(BaseModel):
    """Base of request bodies: unknown fields are refused (no mass assignment)."""

    model_config = ConfigDict(extra="forbid")


class OutputSchema(BaseModel):
    """Base of response bodies: built from ORM rows, only the declared fields leave."""

    model_config = ConfigDict(from_attributes=True)
