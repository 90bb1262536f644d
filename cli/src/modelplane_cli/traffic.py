"""Background inference traffic against a Service (or the facade's inference proxy), as many
independent clients make it.

Used by the demo (and the real-node tests) to keep requests flowing through a rollout. Each
request opens its own connection: kube-proxy balances connections, not requests, so one
keep-alive connection would stick to one pod and a replica-ratio split would never show. A
client retry budget (`attempts`, with growing pauses) tells failures a retrying client would
see apart from errors it would absorb.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

BACKOFF_S = (0.0, 0.25, 0.5, 1.0, 2.0)


class Traffic:
    """POSTs `body()` to `url` in a thread until the `with` block ends; counts what came back."""

    def __init__(
        self,
        url: str,
        body: Callable[[], dict[str, Any]],
        *,
        attempts: int = 1,
        pause_s: float = 0.03,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url, self.body, self.attempts, self.pause_s = url, body, attempts, pause_s
        self.headers = headers or {}
        self.codes: dict[int, int] = {}
        """Every answer by status code (0: no answer), retries included."""
        self.versions: dict[str, int] = {}
        """Successful answers by the `model_version` that gave them."""
        self.ok = 0
        self.failed = 0
        """Requests that failed on every attempt of the budget."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        fresh = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(timeout=5, limits=fresh) as client:
            while not self._stop.is_set():
                for attempt in range(self.attempts):
                    time.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                    try:
                        answer = client.post(self.url, json=self.body(), headers=self.headers)
                        code = answer.status_code
                        if code == 200:
                            version = str(answer.json().get("model_version"))
                            self.versions[version] = self.versions.get(version, 0) + 1
                    except (httpx.HTTPError, ValueError):
                        code = 0
                    self.codes[code] = self.codes.get(code, 0) + 1
                    if code == 200:
                        self.ok += 1
                        break
                else:
                    self.failed += 1
                time.sleep(self.pause_s)

    def summary(self) -> str:
        """`N requests: n × 200, m × 500; answered by version 1: a, version 2: b` (answers,
        retries included)."""
        total = sum(self.codes.values())
        parts = ", ".join(f"{n} × {code or 'no answer'}" for code, n in sorted(self.codes.items()))
        served = ", ".join(f"version {v}: {n}" for v, n in sorted(self.versions.items()))
        return f"{total} requests: {parts}" + (f"; answered by {served}" if served else "")
