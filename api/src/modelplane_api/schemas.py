"""Pydantic bases shared by every domain's schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

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


def unstorable_text(value: Any) -> bool:
    """Whether a value holds text PostgreSQL cannot store: a NUL character (valid JSON, `\u0000`).
    Unpaired surrogates never get this far: pydantic refuses them as `string_unicode`."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(unstorable_text(v) for v in value)
    if isinstance(value, dict):
        return any(unstorable_text(k) or unstorable_text(v) for k, v in value.items())
    return False


UNSTORABLE_TEXT = "unstorable_text"
"""Error type of text the database cannot store; the facade answers it with 400 (a rule beyond
the OpenAPI schema, which allows any string), naming the field."""


class InputSchema(BaseModel):
    """Base of request bodies: unknown fields are refused (no mass assignment), and text that
    the database cannot store is refused naming the field rather than failing an INSERT."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if unstorable_text(value):
            raise PydanticCustomError(UNSTORABLE_TEXT, "text must not contain NUL characters")
        return value


class OutputSchema(BaseModel):
    """Base of response bodies: built from ORM rows, only the declared fields leave."""

    model_config = ConfigDict(from_attributes=True)
