"""Closed-loop HTTP/1.1 load generator: `python -m tests.bench.runtime.loadgen URL BODY C SECONDS`.

Runs in its own process (so it does not share the server's core or event loop). Each of C
keep-alive connections sends the same POST, waits for the full response and sends the next one.
It speaks raw HTTP over asyncio protocols on uvloop, so the generator costs far less per request
than an HTTP client library and measures the server, not itself. Prints one JSON line: requests,
errors, seconds, req/s, p50/p90/p99 in milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlparse

import uvloop


class _Conn(asyncio.Protocol):
    def __init__(
        self,
        request: bytes,
        deadline_warm: float,
        deadline: float,
        latencies: list[float],
        errors: list[int],
        done: asyncio.Future[None],
    ) -> None:
        self.request = request
        self.warm_until = deadline_warm
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
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        stop = head.find(b"\r\n", start)
        length = int(head[start + 15 : stop if stop > 0 else len(head)])
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


async def run(
    url: str, body: bytes, concurrency: int, seconds: float, warmup: float
) -> dict[str, float]:
    """Drive the server; returns the summary."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    request = (
        f"POST {parsed.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    warm_until, deadline = start + warmup, start + warmup + seconds
    latencies: list[float] = []
    errors: list[int] = []
    dones = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        dones.append(done)
        conn = _Conn(request, warm_until, deadline, latencies, errors, done)
        await loop.create_connection(lambda c=conn: c, host, port)  # type: ignore[misc]
    await asyncio.wait_for(asyncio.gather(*dones), warmup + seconds + 30)
    measured = time.perf_counter() - warm_until
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
            if latencies
            else float("nan")
        )

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": measured,
        "rps": len(latencies) / measured,
        "p50_ms": pct(0.5),
        "p90_ms": pct(0.9),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    """Entry point: URL BODY_FILE CONCURRENCY SECONDS [WARMUP]."""
    url, body_file, concurrency, seconds = sys.argv[1:5]
    warmup = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
    with open(body_file, "rb") as f:
        body = f.read()
    summary = uvloop.run(run(url, body, int(concurrency), float(seconds), warmup))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
