"""Measurements by scraping the variant pods' `/metrics` directly (no Prometheus needed).

Each pass reads every Ready pod of the variant and subtracts, pod by pod, what the previous pass
read from the same pod; the increases are summed. The previous readings are kept in memory:
after an operator restart (or the first pass of a rollout) there is nothing to subtract, so that
interval is inconclusive and only sets the baseline — never a pass. A pod seen for the first time
only sets its own baseline; a pod whose counters went down (it restarted) counts from zero.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock

import httpx

from modelplane_operator.analysis.sources import (
    Sample,
    ShadowCounts,
    Snapshot,
    SourceError,
    parse_shadow,
    parse_snapshot,
    total,
)
from modelplane_operator.analysis.targets import Target

Fetch = Callable[[str], str]


class BaselineTaken(SourceError):  # noqa: N818 - a reason for an inconclusive interval
    """First scrape of a variant: the next interval can be measured."""


def http_fetch(timeout_s: float = 5.0) -> Fetch:
    """GET a `/metrics` page with httpx."""

    def fetch(url: str) -> str:
        try:
            response = httpx.get(url, timeout=timeout_s)
        except httpx.HTTPError as exc:
            raise SourceError(f"cannot scrape {url}: {exc}") from exc
        if response.status_code != 200:
            raise SourceError(f"scraping {url} answered {response.status_code}")
        return response.text

    return fetch


class ScrapeSource:
    """Variant samples from the pods' own `/metrics`, as deltas between passes."""

    def __init__(self, fetch: Fetch | None = None) -> None:
        self.fetch = fetch or http_fetch()
        self._last: dict[tuple[str, str, str], dict[str, Snapshot]] = {}
        self._shadow_last: dict[tuple[str, str, str], dict[str, ShadowCounts]] = {}
        self._lock = Lock()

    def snapshots(self, target: Target) -> dict[str, Snapshot]:
        """Counters of each Ready pod of the variant now."""
        if not target.endpoints:
            raise SourceError(f"{target.version} has no Ready pods to scrape")
        labels = {"model": target.model, "version": target.model_version}
        return {
            url: parse_snapshot(self.fetch(f"{url.rstrip('/')}/metrics"), labels)
            for url in target.endpoints
        }

    def sample(self, target: Target, window_s: float) -> Sample:
        """The variant's requests since the previous pass (`window_s` is not needed)."""
        now = self.snapshots(target)
        with self._lock:
            before = self._last.get(target.key)
            self._last[target.key] = now
        if before is None:
            raise BaselineTaken(f"first scrape of {target.version}: baseline taken")
        known = [snap.delta(before[url]) for url, snap in now.items() if url in before]
        return total(known).to_sample()

    def shadow_counts(self, stable: Target, candidate: Target) -> dict[str, ShadowCounts]:
        """Each Ready stable pod's comparisons of `candidate`'s answers, cumulative."""
        if not stable.endpoints:
            raise SourceError(f"{stable.version} has no Ready pods to scrape")
        labels = {"model": stable.model, "version": stable.model_version}
        return {
            url: parse_shadow(
                self.fetch(f"{url.rstrip('/')}/metrics"), labels, candidate.model_version
            )
            for url in stable.endpoints
        }

    def shadow_total(self, stable: Target, candidate: Target) -> ShadowCounts:
        """What the stable pods running now compared of `candidate`, since they started."""
        result = ShadowCounts()
        for counts in self.shadow_counts(stable, candidate).values():
            result = result.plus(counts)
        return result

    def shadow(self, stable: Target, candidate: Target, window_s: float) -> ShadowCounts:
        """Comparisons since the previous pass, pod by pod (`window_s` is not needed)."""
        now = self.shadow_counts(stable, candidate)
        key = (*candidate.key[:2], f"{stable.version}>{candidate.version}")
        with self._lock:
            before = self._shadow_last.get(key)
            self._shadow_last[key] = now
        if before is None:
            raise BaselineTaken(f"first scrape of {stable.version}'s shadow copies: baseline")
        result = ShadowCounts()
        for url, counts in now.items():
            if url in before:
                result = result.plus(counts.minus(before[url]))
        return result

    def forget(self, namespace: str, deployment: str) -> None:
        """Drop the baselines of a deployment (deleted, or its rollout ended)."""
        with self._lock:
            for key in [k for k in self._last if k[:2] == (namespace, deployment)]:
                del self._last[key]
            for key in [k for k in self._shadow_last if k[:2] == (namespace, deployment)]:
                del self._shadow_last[key]
