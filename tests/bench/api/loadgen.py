"""Closed-loop HTTP/1.1 GET load generator: `python -m tests.bench.api.loadgen URL C SECONDS
[HEADER ...]`.

Runs in its own process. Each of C keep-alive connections sends the same GET (with the given
`Name: value` headers), waits for the full response, and sends the next one. Raw HTTP over
asyncio protocols on uvloop, so the client costs far less per request than an HTTP library.
Prints one JSON line: requests, errors, seconds, rps, p50/p90/p99 in milliseconds.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import time
from urllib.parse import urlparse

import uvloop

WARMUP_SECONDS = 1.0


class _Conn(asyncio.Protocol):
    def __init__(
        self,
        request: bytes,
        warm_until: float,
        deadline: float,
        latencies: list[float],
        errors: list[int],
        done: asyncio.Future[None],
    ) -> None:
        self.request = request
        self.warm_until = warm_until
        self.deadline = deadline
        self.latencies = latencies
        self.errors = errors
        self.done = done
        self.buffer = bytearray()
        self.started = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        self._send()

    def _send(self) -> None:
        self.started = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            start = head.find(b"content-length:")
            stop = head.find(b"\r\n", start)
            length = int(head[start + 15 : stop if stop > 0 else len(head)]) if start >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            now = time.perf_counter()
            ok = head.startswith(b"http/1.1 200")
            del self.buffer[: end + 4 + length]
            if now >= self.warm_until:
                if ok:
                    self.latencies.append(now - self.started)
                else:
                    self.errors.append(1)
            if now >= self.deadline:
                assert self.transport is not None
                self.transport.close()
                if not self.done.done():
                    self.done.set_result(None)
                return
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def run(url: str, concurrency: int, seconds: float, headers: list[str]) -> dict[str, float]:
    """Drive `concurrency` connections for `seconds` after a warm-up; summarise latencies."""
    parsed = urlparse(url)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {parsed.netloc}", *headers, "", ""]
    request = "\r\n".join(lines).encode()
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    warm_until, deadline = began + WARMUP_SECONDS, began + WARMUP_SECONDS + seconds
    latencies: list[float] = []
    errors: list[int] = []
    waits = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(
            functools.partial(_Conn, request, warm_until, deadline, latencies, errors, done),
            parsed.hostname or "127.0.0.1",
            parsed.port or 80,
        )
        waits.append(done)
    await asyncio.gather(*waits)
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    """Entry point: print the summary as one JSON line."""
    url, concurrency, seconds, *headers = sys.argv[1:]
    result = uvloop.run(run(url, int(concurrency), float(seconds), headers))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
