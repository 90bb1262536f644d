"""Measurements from a Prometheus server (HTTP API `/api/v1/query`).

The runtime labels its series with `model` and `version` (the ModelVersion's `modelName` and
`version`); Prometheus's Kubernetes discovery usually adds `namespace`, which is matched too
unless `namespace_label` is None. Each variant's interval is read with `increase(…[<window>])`,
and p99 with `histogram_quantile` over the summed buckets — the same arithmetic the scrape source
does locally, so the two sources agree on what a check means.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from modelplane_operator.analysis.sources import (
    LATENCY,
    REQUESTS,
    SHADOW,
    VIOLATIONS,
    Sample,
    ShadowCounts,
    SourceError,
)
from modelplane_operator.analysis.targets import Target


class PrometheusClient:
    """A tiny client of Prometheus's instant-query API."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        """Release connections."""
        self._client.close()

    def query(self, promql: str) -> float | None:
        """One number from an instant query; None when the result is empty."""
        try:
            response = self._client.get(f"{self.base_url}/api/v1/query", params={"query": promql})
        except httpx.HTTPError as exc:
            raise SourceError(f"Prometheus at {self.base_url} unreachable: {exc}") from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError as exc:
            raise SourceError(f"Prometheus answered {response.status_code} without JSON") from exc
        if body.get("status") != "success":
            raise SourceError(f"Prometheus refused {promql!r}: {body.get('error', body)}")
        data: dict[str, Any] = body.get("data") or {}
        kind = data.get("resultType")
        result: list[Any] = data.get("result") or []
        if kind == "scalar":
            return _number(result[1])
        if kind == "vector":
            if not result:
                return None
            if len(result) > 1:
                raise SourceError(f"{promql!r} returned {len(result)} series; aggregate it to one")
            return _number(result[0]["value"][1])
        raise SourceError(f"{promql!r} returned a {kind}, not a number")


def _number(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) else value


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class PrometheusSource:
    """Variant samples from PromQL over the runtime's metrics."""

    def __init__(self, client: PrometheusClient, namespace_label: str | None = "namespace") -> None:
        self.client = client
        self.namespace_label = namespace_label

    def selector(self, target: Target) -> str:
        """The label matchers of one variant's series."""
        matchers = [f'model="{_quote(target.model)}"', f'version="{_quote(target.model_version)}"']
        if self.namespace_label:
            matchers.append(f'{self.namespace_label}="{_quote(target.namespace)}"')
        return ",".join(matchers)

    def sample(self, target: Target, window_s: float) -> Sample:
        """The variant's last `window_s` seconds."""
        sel, w = self.selector(target), f"{max(1, round(window_s))}s"
        requests = self.client.query(f"sum(increase({REQUESTS}_total{{{sel}}}[{w}]))")
        errors = self.client.query(f'sum(increase({REQUESTS}_total{{{sel},code=~"5.."}}[{w}]))')
        violations = self.client.query(f"sum(increase({VIOLATIONS}_total{{{sel}}}[{w}]))")
        p99 = self.client.query(
            f"histogram_quantile(0.99, sum by (le) (increase({LATENCY}_bucket{{{sel}}}[{w}])))"
        )
        return Sample(
            requests=requests or 0.0,
            errors=errors or 0.0,
            violations=violations or 0.0,
            p99_s=p99 if requests else None,
        )

    def _shadow(self, stable: Target, candidate: Target, wrap: str) -> ShadowCounts:
        sel = f'{self.selector(stable)},shadow_version="{_quote(candidate.model_version)}"'
        found: dict[str, float] = {}
        for result in ("agree", "disagree", "error"):
            series = SHADOW + "_total{" + sel + ',result="' + result + '"}'
            found[result] = self.client.query(f"sum({wrap.format(series)})") or 0.0
        return ShadowCounts(found["agree"], found["disagree"], found["error"])

    def shadow(self, stable: Target, candidate: Target, window_s: float) -> ShadowCounts:
        """The stable pods' comparisons of `candidate` in the last `window_s` seconds."""
        return self._shadow(stable, candidate, f"increase({{}}[{max(1, round(window_s))}s])")

    def shadow_total(self, stable: Target, candidate: Target) -> ShadowCounts:
        """The stable pods' comparisons of `candidate` since they started."""
        return self._shadow(stable, candidate, "{}")
