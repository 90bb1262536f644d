"""Bodies of ground-truth feedback. A row is a request id (the `X-Request-ID` the deployment
answered, or the OIP request `id`) with its true `label` (classification) or `value`
(regression), and when the truth was observed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from modelplane_api.schemas import InputSchema, OutputSchema

MAX_ROWS = 10_000
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"


class LabelRow(InputSchema):
    """The true class of a request (classification)."""

    request_id: str = Field(pattern=REQUEST_ID_PATTERN)
    label: str = Field(min_length=1, max_length=256)
    observed_at: AwareDatetime
    """When the truth was observed, with its time zone."""


class ValueRow(InputSchema):
    """The true value of a request (regression)."""

    request_id: str = Field(pattern=REQUEST_ID_PATTERN)
    value: float = Field(allow_inf_nan=False)
    observed_at: AwareDatetime
    """When the truth was observed, with its time zone."""


FeedbackRow = LabelRow | ValueRow
"""A row has exactly one of `label` and `value` (unknown fields are refused)."""


class FeedbackBatch(InputSchema):
    rows: list[FeedbackRow] = Field(min_length=1, max_length=MAX_ROWS)


class FeedbackWritten(OutputSchema):
    rows: int
    files: list[str]
    """The Parquet objects written, `s3://bucket/key` (one per hour of `observed_at`)."""


class FeedbackPublic(OutputSchema):
    request_id: str
    label: str | None
    value: float | None
    observed_at: datetime
    received_at: datetime


FeedbackKind = Literal["label", "value"]
