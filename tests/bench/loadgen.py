"""Closed-loop HTTP/1.1 load generator shared by the benchmarks.

`python -m tests.bench.loadgen URL --concurrency C --seconds S [--warmup W] [--body-file F]
[--header "Name: value" ...]` — POST with the file's bytes as a JSON body when `--body-file` is
given, GET otherwise. Runs in its own process (so it does not share the server's core or event
loop). Each of C keep-alive connections sends the same request, waits for the full response and
sends the next one. It speaks raw HTTP over asyncio protocols on uvloop, so the generator costs far
less per request than an HTTP client library and measures the server, not itself. Prints one JSON
line: requests, errors, seconds, rps, p50/p90/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import time
from urllib.parse import urlparse

import uvloop


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


def build_request(url: str, body: bytes | None, headers: list[str]) -> bytes:
    """The raw request every connection repeats."""
    parsed = urlparse(url)
    path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    method = "GET" if body is None else "POST"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parsed.netloc}", *headers]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return "\r\n".join([*lines, "", ""]).encode() + (body or b"")


async def run(
    url: str, request: bytes, concurrency: int, seconds: float, warmup: float
) -> dict[str, float]:
    """Drive `concurrency` connections for `seconds` after a warm-up; summarise latencies."""
    parsed = urlparse(url)
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    warm_until, deadline = began + warmup, began + warmup + seconds
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
    await asyncio.wait_for(asyncio.gather(*waits), warmup + seconds + 30)
    measured = time.perf_counter() - warm_until
    latencies.sort()

    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": measured,
        "rps": len(latencies) / measured,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    """Entry point: print the summary as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.loadgen")
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--body-file")
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    body = None
    if args.body_file:
        with open(args.body_file, "rb") as f:
            body = f.read()
    request = build_request(args.url, body, args.header)
    summary = uvloop.run(run(args.url, request, args.concurrency, args.seconds, args.warmup))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
