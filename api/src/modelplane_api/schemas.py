"""Pydantic bases shared by every domain's schemas."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

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
    """Whether a value holds text PostgreSQL cannot store: a NUL character, or an unpaired
    surrogate (valid JSON escapes, not encodable as UTF-8)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return any(unstorable_text(v) for v in value)
    if isinstance(value, dict):
        return any(unstorable_text(k) or unstorable_text(v) for k, v in value.items())
    return False


class InputSchema(BaseModel):
    """Base of request bodies: unknown fields are refused (no mass assignment), and text that
    the database cannot store is a 422 naming the field rather than a failed INSERT."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        if unstorable_text(value):
            raise ValueError("text must not contain NUL characters or unpaired surrogates")
        return value


class OutputSchema(BaseModel):
    """Base of response bodies: built from ORM rows, only the declared fields leave."""

    model_config = ConfigDict(from_attributes=True)
