"""Shadow traffic: copy a share of the answered requests to the candidate and compare answers.

The operator sets `MODELPLANE_RUNTIME_SHADOW_URL` (the deployment's `<name>-shadow` Service,
which selects the candidate's pods while a rollout runs) and `SHADOW_PERCENT` on every serving
pod. After a request is answered 200, a sampled copy of its body is sent to the shadow in the
background — the client never waits for it — and the candidate's outputs are compared with the
ones just sent: `modelplane_runtime_shadow_comparisons_total{shadow_version, result}` counts
`agree`, `disagree` and `error` (the candidate refused or failed the copy). The operator sums
these over the stable pods into `status.shadow` and the `shadowAgreement` check.

Nothing is sent while there is no shadow to send to: an unreachable shadow (no candidate, so
no Service) pauses copying for `PAUSE_S`, and so does a shadow that turns out to be this same
version (the candidate's own pods, which carry the same settings). Copies in flight are
bounded; beyond `MAX_IN_FLIGHT` a copy is skipped, never queued, so a slow candidate cannot
slow the stable version or grow its memory.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import httpx
import numpy as np

from modelplane_runtime.metrics import RuntimeMetrics
from modelplane_runtime.protocol import load_json

SHADOW_HEADER = "x-modelplane-shadow"
"""Marks a copy: the receiver serves it under its own model name and never copies it again."""
MAX_IN_FLIGHT = 16
PAUSE_S = 5.0
TIMEOUT_S = 10.0

Result = Literal["agree", "disagree", "error"]
log = logging.getLogger("modelplane_runtime.shadow")


def _agree(ours: Any, theirs: Any, tolerance: float) -> bool:
    if not isinstance(theirs, list):
        return False
    if not isinstance(ours, np.ndarray):  # BYTES: strings
        return list(ours) == theirs
    try:  # read their JSON numbers in our dtype, as they were before encoding
        other = np.asarray(theirs, dtype=ours.dtype)
    except (ValueError, TypeError, OverflowError):
        return False
    if other.shape != ours.shape:
        return False
    if ours.dtype.kind != "f":
        return bool(np.array_equal(ours, other))
    a, b = ours.astype(np.float64), other.astype(np.float64)
    close = np.abs(b - a) <= tolerance * np.maximum(1.0, np.abs(a))
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all(close | both_nan | (a == b)))


def compare(
    stable: Sequence[Mapping[str, Any]], shadow: Sequence[Mapping[str, Any]], tolerance: float
) -> bool:
    """Whether the shadow's outputs agree with the stable ones: every output the stable
    version sent exists in the shadow's answer with the same shape and values (floats within
    `tolerance` relative to the stable value, absolute below 1; everything else equal)."""
    theirs = {o.get("name"): o for o in shadow}
    for ours in stable:
        other = theirs.get(ours["name"])
        if other is None or list(other.get("shape") or []) != list(ours["shape"]):
            return False
        data = ours["data"]
        if isinstance(data, list) and data and not isinstance(data[0], str):
            data = np.asarray(data)
        if not _agree(data, other.get("data"), tolerance):
            return False
    return True


class ShadowMirror:
    """Sends sampled copies to the shadow and counts how its answers compare."""

    def __init__(
        self,
        url: str,
        percent: int,
        tolerance: float,
        own_version: str,
        metrics: RuntimeMetrics,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.share = percent / 100
        self.tolerance = tolerance
        self.own_version = own_version
        self.metrics = metrics
        self.client = client or httpx.AsyncClient(
            timeout=TIMEOUT_S, limits=httpx.Limits(max_connections=MAX_IN_FLIGHT)
        )
        logging.getLogger("httpx").setLevel(logging.WARNING)  # no log line per copy
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused_until = 0.0

    def offer(self, name: str, body: bytes, outputs: Sequence[Mapping[str, Any]]) -> None:
        """Maybe copy one answered request (`outputs` as sent to the client)."""
        if self.share < 1 and random.random() >= self.share:  # noqa: S311 - sampling, not security
            return
        if len(self._tasks) >= MAX_IN_FLIGHT or time.monotonic() < self._paused_until:
            self.metrics.count_shadow_skipped()
            return
        task = asyncio.get_running_loop().create_task(self._send(name, body, outputs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, name: str, body: bytes, outputs: Sequence[Mapping[str, Any]]) -> None:
        try:
            response = await self.client.post(
                f"{self.url}/v2/models/{name}/infer",
                content=body,
                headers={"content-type": "application/json", SHADOW_HEADER: "1"},
            )
        except httpx.HTTPError as exc:  # no candidate (no Service, no pods) or it went away
            log.debug("shadow unreachable: %s", exc)
            self._paused_until = time.monotonic() + PAUSE_S
            self.metrics.count_shadow_skipped()
            return
        version, result = self._judge(response, outputs)
        if version == self.own_version:  # our own variant's pods: nothing to compare
            self._paused_until = time.monotonic() + PAUSE_S
            return
        self.metrics.count_shadow(version, result)

    def _judge(
        self, response: httpx.Response, outputs: Sequence[Mapping[str, Any]]
    ) -> tuple[str, Result]:
        version = response.headers.get("x-model-version", "")
        if response.status_code != 200:
            return version, "error"
        try:
            doc = load_json(response.content)
        except Exception:
            return version, "error"
        if not isinstance(doc, dict) or not isinstance(doc.get("outputs"), list):
            return version, "error"
        version = str(doc.get("model_version") or version)
        agree = compare(outputs, doc["outputs"], self.tolerance)
        return version, "agree" if agree else "disagree"

    async def close(self) -> None:
        """Wait briefly for copies in flight, then close the client."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2.0)
        await self.client.aclose()
