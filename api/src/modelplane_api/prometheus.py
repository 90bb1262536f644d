"""A small client of Prometheus's range-query API (`/api/v1/query_range`), for serving metrics.

The facade builds every query itself (`deployments/monitoring.py`); this module only sends them
and reads matrices back. Prometheus being unreachable, slow or not configured is
`MetricsUnavailable` (503, never a hang: connect and read are bounded); Prometheus refusing one
of our own queries is `BadGateway` (502), a defect on our side rather than the caller's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx

from modelplane_api.errors import BadGateway, MetricsUnavailable
from modelplane_api.http_pool import HttpPool

RETRY_AFTER_S = 10


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and its `(unix seconds, value)` points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class PrometheusClient:
    """Range queries against one Prometheus server (`None`: metrics are not configured)."""

    def __init__(self, base_url: str | None, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self._pool = HttpPool(httpx.Timeout(timeout_s, connect=min(2.0, timeout_s)))

    async def aclose(self) -> None:
        """Release connections (app shutdown)."""
        await self._pool.aclose()

    async def query_range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        """The matrix of `promql` from `start` to `end` every `step` seconds (NaN points left
        out: a ratio over no traffic is no point, not zero)."""
        if self.base_url is None:
            raise MetricsUnavailable(
                "serving metrics are not configured on this facade (MODELPLANE_API_PROMETHEUS_URL)"
            )
        params = {
            "query": promql,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": f"{step:g}",
        }
        try:
            response = await self._pool.client().get(
                f"{self.base_url}/api/v1/query_range", params=params
            )
        except httpx.HTTPError as exc:
            raise _unavailable(f"Prometheus did not answer ({type(exc).__name__})") from exc
        if response.status_code in (502, 503, 504):
            raise _unavailable(f"Prometheus answered {response.status_code}")
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise _unavailable(f"Prometheus answered {response.status_code} without JSON") from exc
        if body.get("status") != "success":
            raise BadGateway(
                "Prometheus refused a metrics query", {"error": str(body.get("error", ""))[:300]}
            )
        data: dict[str, Any] = body.get("data") or {}
        if data.get("resultType") != "matrix":
            raise BadGateway(f"Prometheus answered a {data.get('resultType')}, not a matrix")
        return [_series(item) for item in data.get("result") or []]


def _unavailable(reason: str) -> MetricsUnavailable:
    return MetricsUnavailable(
        f"serving metrics are unavailable: {reason}; try again shortly",
        {"retry_after": RETRY_AFTER_S},
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _series(item: dict[str, Any]) -> Series:
    points = []
    for stamp, text in item.get("values") or []:
        value = float(text)
        if math.isfinite(value):
            points.append((float(stamp), value))
    return Series({str(k): str(v) for k, v in (item.get("metric") or {}).items()}, points)
