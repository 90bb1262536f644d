"""`python -m modelplane_operator` / `modelplane operator run`: the operator process.

Reads `Settings` from the environment, sets up structured (JSON) logs, optionally waits for the
leader Lease, then runs kopf with our registry and liveness endpoint until SIGTERM/SIGINT. A
graceful stop lets handlers finish, removes the managed webhook configurations and releases the
Lease; losing the Lease stops the operator with exit code 1 so its pod restarts as a standby.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import threading
from urllib.parse import urlparse

import kopf

from modelplane_operator.settings import Settings
from modelplane_operator.startup import register


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="modelplane-operator",
        description="Run the Modelplane operator. Configuration comes from MODELPLANE_OPERATOR_*"
        " environment variables (see docs/operator.md).",
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


async def _standby_liveness(endpoint: str | None) -> asyncio.Server | None:
    """While a standby waits for the Lease, kopf (and its liveness endpoint) is not running yet;
    answer the probe ourselves so the kubelet does not restart a healthy standby."""
    if not endpoint:
        return None
    parsed = urlparse(endpoint)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nstandby\n"
            )
            await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, parsed.hostname, parsed.port or 80)


async def _run(config: Settings) -> int:
    registry = kopf.OperatorRegistry()
    register(registry, config)
    stop = asyncio.Event()
    elector = None
    if config.leader_election:
        from modelplane_operator.cluster import KubeGateway, load_connection
        from modelplane_operator.leader import LeaseElector, default_identity

        gateway = KubeGateway(load_connection(config.kubeconfig))
        elector = LeaseElector(
            gateway,
            config.lease_name,
            config.lease_namespace or config.platform_namespace,
            config.identity or default_identity(),
            config.lease_duration_s,
        )
        standby = await _standby_liveness(config.liveness_endpoint)
        try:
            await elector.acquire()
        finally:
            if standby is not None:
                standby.close()
                await standby.wait_closed()
    lost = False

    async def watch_lease() -> None:
        nonlocal lost
        if elector is not None:
            await elector.keep()
            lost = True
            stop.set()

    keeper = asyncio.create_task(watch_lease())
    try:
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=not config.namespaces,
            namespaces=config.namespaces,
            liveness_endpoint=config.liveness_endpoint,
            stop_flag=stop,
        )
    finally:
        keeper.cancel()
        if elector is not None and not lost:
            await asyncio.to_thread(elector.release)
    return 1 if lost else 0


def _limit_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena; artifact verification runs
    in worker threads and handles megabyte buffers, so without a cap the freed memory stays
    spread over many arenas (resident, never reused). Two arenas are plenty for this process."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None or not sys.platform.startswith("linux"):
        return
    m_arena_max = -8
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).mallopt(m_arena_max, 2)


def main(argv: list[str] | None = None) -> int:
    """Run the operator until stopped; return the process exit code."""
    args = _parse(argv)
    _limit_malloc_arenas()
    config = Settings()
    level = "DEBUG" if args.verbose else config.log_level
    kopf.configure(
        debug=level == "DEBUG",
        verbose=level in {"DEBUG", "INFO"},
        log_format=kopf.LogFormat.JSON if config.log_format == "json" else kopf.LogFormat.FULL,
        log_prefix=False,
        log_refkey="object",
    )
    logging.getLogger().setLevel(level)
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the operator must run in the main thread (it handles signals)")
    return asyncio.run(_run(config))


if __name__ == "__main__":
    sys.exit(main())
