"""Shapes of the dashboard's experiment endpoints: MLflow's entities, flattened for a browser
(times as datetimes, tags, params and latest metrics as maps)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EXPERIMENT_ID = r"^[0-9]{1,19}$"
RUN_ID = r"^[0-9a-f]{32}$"
RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]


def from_ms(value: Any) -> datetime | None:
    """MLflow's epoch milliseconds (as a number or a string), None when absent."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def pairs(items: Any) -> dict[str, str]:
    """MLflow's `[{key, value}]` lists as a map."""
    if not isinstance(items, list):
        return {}
    return {str(i.get("key")): str(i.get("value", "")) for i in items if isinstance(i, dict)}


class ExperimentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500)
    tags: dict[str, str] = Field(default_factory=dict, max_length=100)


class ExperimentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=500, description="The new name")


class ExperimentPublic(BaseModel):
    id: str
    name: str
    lifecycle_stage: str
    created_at: datetime | None
    updated_at: datetime | None
    tags: dict[str, str]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ExperimentPublic:
        """From MLflow's experiment object."""
        return cls(
            id=str(raw.get("experiment_id", "")),
            name=str(raw.get("name", "")),
            lifecycle_stage=str(raw.get("lifecycle_stage", "active")),
            created_at=from_ms(raw.get("creation_time")),
            updated_at=from_ms(raw.get("last_update_time")),
            tags=pairs(raw.get("tags")),
        )


class RunSummary(BaseModel):
    id: str
    name: str
    experiment_id: str
    status: str
    lifecycle_stage: str
    started_at: datetime | None
    ended_at: datetime | None
    metrics: dict[str, float] = Field(description="Each metric's latest value")
    params: dict[str, str]
    tags: dict[str, str] = Field(description="Tags, MLflow's own `mlflow.*` left out")

    @classmethod
    def of(cls, raw: dict[str, Any]) -> RunSummary:
        """From MLflow's run object (`info` and `data`)."""
        info, data = raw.get("info") or {}, raw.get("data") or {}
        metrics: dict[str, float] = {}
        for metric in data.get("metrics") or []:
            try:
                metrics[str(metric["key"])] = float(metric["value"])
            except (KeyError, TypeError, ValueError):
                continue
        return cls(
            id=str(info.get("run_id", "")),
            name=str(info.get("run_name", "")),
            experiment_id=str(info.get("experiment_id", "")),
            status=str(info.get("status", "")),
            lifecycle_stage=str(info.get("lifecycle_stage", "active")),
            started_at=from_ms(info.get("start_time")),
            ended_at=from_ms(info.get("end_time")),
            metrics=metrics,
            params=pairs(data.get("params")),
            tags={k: v for k, v in pairs(data.get("tags")).items() if not k.startswith("mlflow.")},
        )


class ArtifactEntry(BaseModel):
    path: str
    is_dir: bool
    size: int | None = None


class RunDetail(RunSummary):
    system_tags: dict[str, str] = Field(description="MLflow's own `mlflow.*` tags")
    artifacts: list[ArtifactEntry] = Field(
        description="The run's artifact tree, folders first, up to 4 levels and 500 entries"
    )
    artifacts_truncated: bool


class MetricPoint(BaseModel):
    step: int
    value: float
    timestamp: datetime | None


class MetricHistory(BaseModel):
    run_id: str
    key: str
    points: list[MetricPoint]


class ComparedValue(BaseModel):
    key: str
    values: dict[str, str | float | None] = Field(description="Run id → value (null: not logged)")
    differs: bool


class RunComparison(BaseModel):
    runs: list[RunSummary]
    params: list[ComparedValue] = Field(description="Params that differ first, then by key")
    metrics: list[ComparedValue] = Field(description="Latest values side by side, by key")
