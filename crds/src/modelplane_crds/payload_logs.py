"""Where payload logs and ground truth live in object storage: one layout for every component.

The serving runtime writes, the drift job and the facade read:

    <bucket>/<namespace>/<deployment>/<model version>/date=YYYY-MM-DD/hour=HH/<stamp>-<uuid>.parquet
    <bucket>/<namespace>/<deployment>/_feedback/date=YYYY-MM-DD/hour=HH/<digest>.parquet

A pod logs under the ModelVersion it serves, never under its role (stable or candidate): the
role changes at promotion without a restart, the version does not. Readers find the version of
a role in the ModelDeployment's status (`stableVersion`, `candidateVersion`).
"""

from __future__ import annotations

from datetime import UTC, datetime

FEEDBACK_DIR = "_feedback"
"""Ground truth beside the versions (no ModelVersion name has an underscore)."""


def bucket_of(uri: str) -> str:
    """The bucket of a `payloadLogging.uri` (`s3://bucket[/…]`): logs always go under the
    layout above, at the bucket's root."""
    return uri.removeprefix("s3://").split("/", 1)[0]


def deployment_prefix(namespace: str, deployment: str) -> str:
    """`<namespace>/<deployment>/`: every version's logs and the feedback below it."""
    return f"{namespace}/{deployment}/"


def version_prefix(namespace: str, deployment: str, version: str) -> str:
    """`<namespace>/<deployment>/<version>/`: one ModelVersion's payload logs."""
    return f"{deployment_prefix(namespace, deployment)}{version}/"


def hour_partition(moment: datetime) -> str:
    """`date=YYYY-MM-DD/hour=HH` of the UTC hour containing `moment`."""
    at = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"date={at:%Y-%m-%d}/hour={at:%H}"


def partition_hour(key: str) -> datetime | None:
    """The hour a key's `date=…/hour=…` partition stands for; None for any other key."""
    try:
        date = key.split("date=", 1)[1][:10]
        hour = key.split("hour=", 1)[1][:2]
        return datetime.strptime(f"{date} {hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return None
