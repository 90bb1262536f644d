"""Shapes of the payload-log routes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from modelplane_api.schemas import OutputSchema

VARIANT_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
"""A variant is a ModelVersion's name (a DNS label)."""


class SampleFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


class PayloadWindow(OutputSchema):
    """One hour of one variant's payload logs."""

    variant: str
    """The ModelVersion whose pods answered (`stable` and `candidate` of a rollout differ)."""
    start: datetime
    """The hour's start (UTC); the window holds requests answered in [start, end)."""
    end: datetime
    files: int
    size_bytes: int
    """Parquet bytes stored for the hour (compressed)."""


class PayloadWindows(OutputSchema):
    bucket: str
    prefix: str
    """Where the windows live: `s3://<bucket>/<prefix><variant>/date=…/hour=…/`."""
    sample_rate: float | None
    """The fraction of requests the deployment logs; null when it does not log payloads."""
    windows: list[PayloadWindow]
    """Newest first."""
    truncated: bool
    """True when more objects exist than one listing reads; narrow with `since`/`until`."""
