"""The one error idiom of every handler, kopf's own.

A `converge_<kind>` function does one pass for one object through the `Cluster` gateway and
returns a `Converged`: the status to write and, when kopf must retry the object or give up on
it, the `kopf.TemporaryError` / `kopf.PermanentError` to raise. The handler writes the status
through kopf's patch first and then raises (`Converged.write`), so a failed pass still reports
why in the object's conditions. Converge functions never raise for an outcome they expect.
The helpers below read and write the conditions and space the retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf

from modelplane_crds.conditions import Condition
from modelplane_operator.cluster import Cluster


@dataclass(frozen=True)
class Converged:
    """What one pass decided."""

    status: dict[str, Any]
    """The status patch to write (merged into the current status)."""

    error: kopf.TemporaryError | kopf.PermanentError | None = None
    """Raised after the status is written: retry later, or give up until the spec changes."""

    drop_annotations: tuple[str, ...] = ()
    """Annotations the pass consumed (e.g. a one-off request); removed in the same patch."""

    async def report(self, cluster: Cluster, body: kopf.Body, patch: kopf.Patch) -> None:
        """`write`, after a Warning Event when the pass gave up (what `kubectl describe` shows)."""
        if isinstance(self.error, kopf.PermanentError):
            await asyncio.to_thread(
                cluster.event, dict(body), "Warning", "Stalled", str(self.error)
            )
        self.write(patch, body.metadata.annotations)

    def write(self, patch: kopf.Patch, annotations: Mapping[str, str]) -> None:
        """Put the status (and the removal of consumed `annotations`) into kopf's patch, then
        raise the error, if any."""
        patch.status.update(self.status)
        for key in self.drop_annotations:
            if key in annotations:
                patch.metadata.setdefault("annotations", {})[key] = None
        if self.error is not None:
            raise self.error


def conditions_of(status: Mapping[str, Any] | None) -> list[Condition]:
    """Conditions from a raw status; malformed entries are dropped, not fatal."""
    found = []
    for raw in (status or {}).get("conditions") or []:
        try:
            found.append(Condition.model_validate(raw))
        except ValueError:
            continue
    return found


def conditions_wire(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    """Conditions as the API stores them."""
    return [c.to_wire() for c in conditions]


def backoff(retry: int, base: float, ceiling: float) -> float:
    """Exponential delay for the n-th retry (0-based), capped."""
    return float(min(ceiling, base * (2 ** min(retry, 20))))
