"""Placeholder while the local platform is being written (foundation issue)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class S3Endpoint:
    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    bucket: str = ""

    def with_bucket(self, name: str) -> S3Endpoint:
        raise NotImplementedError

    def client(self) -> Any:
        raise NotImplementedError


class LocalPlatform:
    def __init__(self, run_dir: Path, owner_pid: int | None = None) -> None:
        self.run_dir = run_dir

    def sweep_stale(self) -> None: ...
    def stop(self) -> None: ...
    def ensure_control_plane(self) -> Path: raise NotImplementedError
    def ensure_postgres(self) -> Any: raise NotImplementedError
    def ensure_redis(self) -> Any: raise NotImplementedError
    def ensure_s3(self) -> Any: raise NotImplementedError
    def ensure_mlflow(self) -> Any: raise NotImplementedError
