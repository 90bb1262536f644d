"""Leader election on a coordination.k8s.io Lease: of several replicas, exactly one acts.

kopf has no Lease-based election: its peering objects make replicas of equal priority all freeze,
and `--standalone` makes them all act. So the operator always runs kopf standalone and, when
`leader_election` is on, holds a Lease first: `acquire()` waits until this replica holds it,
`keep()` renews it and returns (so the caller stops kopf) as soon as renewal fails for longer
than the lease duration — before another replica may take over. Every write carries the
resourceVersion read just before, so two replicas can never both win the same round.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from modelplane_operator.cluster import ClusterError, KubeGateway

LOG = logging.getLogger("modelplane_operator.leader")
API = "coordination.k8s.io/v1"


def _now() -> datetime:
    return datetime.now(UTC)


def _micro(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


def default_identity() -> str:
    """Host name and process id: unique per replica and per restart."""
    return f"{socket.gethostname()}-{os.getpid()}"


class LeaseElector:
    """Acquire, renew and release one Lease."""

    def __init__(
        self, cluster: KubeGateway, name: str, namespace: str, identity: str, duration_s: float
    ) -> None:
        self._cluster = cluster
        self._name = name
        self._namespace = namespace
        self.identity = identity
        self._duration = duration_s

    def _spec(self, lease: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
        spec = dict((lease or {}).get("spec") or {})
        if spec.get("holderIdentity") != self.identity:
            spec["acquireTime"] = _micro(now)
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec["holderIdentity"] = self.identity
        spec["leaseDurationSeconds"] = max(1, int(self._duration))
        spec["renewTime"] = _micro(now)
        return spec

    def try_acquire(self) -> bool:
        """One round: take or renew the Lease if it is free, expired or ours."""
        now = _now()
        lease = self._cluster.get(API, "Lease", self._name, self._namespace)
        if lease is None:
            body = {
                "apiVersion": API,
                "kind": "Lease",
                "metadata": {"name": self._name, "namespace": self._namespace},
                "spec": self._spec(None, now),
            }
            try:
                self._cluster.create(body)
            except ClusterError as exc:
                if exc.status == 409:
                    return False
                raise
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        renewed = _parse(spec.get("renewTime")) or datetime.min.replace(tzinfo=UTC)
        duration = float(spec.get("leaseDurationSeconds") or self._duration)
        if holder and holder != self.identity and renewed + timedelta(seconds=duration) > now:
            return False
        lease["spec"] = self._spec(lease, now)
        try:
            self._cluster.replace(lease)
        except ClusterError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    async def acquire(self) -> None:
        """Wait until this replica leads."""
        while True:
            try:
                if await asyncio.to_thread(self.try_acquire):
                    LOG.info("leading as %s", self.identity)
                    return
            except ClusterError as exc:
                LOG.warning("lease: %s", exc)
            await asyncio.sleep(self._duration / 3)

    async def keep(self) -> None:
        """Renew until renewal has failed for most of the lease duration; then return."""
        last_ok = _now()
        while True:
            await asyncio.sleep(self._duration / 3)
            try:
                if await asyncio.to_thread(self.try_acquire):
                    last_ok = _now()
                    continue
                LOG.error("lost the lease to another replica")
                return
            except ClusterError as exc:
                LOG.warning("lease renewal failed: %s", exc)
            if _now() - last_ok > timedelta(seconds=self._duration * 2 / 3):
                LOG.error("could not renew the lease in time; stepping down")
                return

    def release(self) -> None:
        """Give the Lease up on a graceful exit so a standby takes over at once."""
        try:
            lease = self._cluster.get(API, "Lease", self._name, self._namespace)
            if lease and (lease.get("spec") or {}).get("holderIdentity") == self.identity:
                lease["spec"]["holderIdentity"] = None
                lease["spec"]["renewTime"] = None
                self._cluster.replace(lease)
        except ClusterError as exc:
            LOG.warning("could not release the lease: %s", exc)
