"""The per-app bundle of long-lived collaborators, built by `create_app` and kept on `app.state`.

Nothing here is a module global: two apps in one process (tests do that) never share a pool, a
Redis client, a key ring or a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from modelplane_api.cluster import ClusterGateway
from modelplane_api.inference.proxy import ServingProxy
from modelplane_api.metrics import Metrics
from modelplane_api.mlflow_mirror import RegistryMirror
from modelplane_api.prometheus import PrometheusClient
from modelplane_api.ratelimit import RateLimiter
from modelplane_api.security import Passwords, TokenSigner
from modelplane_api.settings import Settings
from modelplane_api.storage import ArtifactStore, PayloadStore
from modelplane_api.tracking.service import TrackingProxy

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]
    """Autocommit sessions on the same pool, for GET/HEAD requests."""
    redis: Redis
    signer: TokenSigner
    passwords: Passwords
    gateway: ClusterGateway
    artifacts: ArtifactStore
    mirror: RegistryMirror
    metrics: Metrics
    rate_limiter: RateLimiter
    upload_slots: asyncio.Semaphore
    """How many uploads may be checked at once (`MAX_CONCURRENT_UPLOADS`)."""
    serving: ServingProxy
    """Forwards inference calls to deployments' Services."""
    payloads: PayloadStore
    """Payload logs and feedback, in any bucket."""
    tracking: TrackingProxy
    """Forwards MLflow tracking calls into organizations' workspaces."""
    prometheus: PrometheusClient
    """Range queries of serving metrics (built by `deployments/monitoring.py`)."""
    clock: Clock = field(default=utc_now)
