"""A TCP forwarder from the node's bridge address to the platform's servers on loopback.

`modelplane dev install` runs it as a process of the run: `python -m
modelplane_cli.local.forward <listen address> <port> …` accepts on `<listen address>:<port>` and
connects each client to `127.0.0.1:<port>`.

Why a process and not the node's DNAT (`node.expose`): pods of the installed overlay reach the
host's servers through selector-less ClusterIP Services whose EndpointSlices name the bridge
address. kube-proxy's DNAT (ClusterIP → bridge address) ends the connection's trip through the
`nat` table, so a second DNAT (bridge address → loopback) never applies; something must listen on
the bridge address itself. The servers stay on loopback, where the host's tools reach them.
"""

from __future__ import annotations

import asyncio
import functools
import sys

UPSTREAM = "127.0.0.1"
CHUNK = 64 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close the other side (the reply may still flow)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def _connect(
    port: int, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
) -> None:
    try:
        server_r, server_w = await asyncio.open_connection(UPSTREAM, port)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
    finally:
        server_w.close()
        client_w.close()


async def forward(listen: str, ports: list[int]) -> None:
    """Serve every port until the process is stopped."""
    servers = [
        await asyncio.start_server(functools.partial(_connect, port), listen, port)
        for port in ports
    ]
    print(f"forwarding {listen}:{ports} → {UPSTREAM}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str]) -> None:
    listen, *ports = argv
    asyncio.run(forward(listen, [int(p) for p in ports]))


if __name__ == "__main__":
    main(sys.argv[1:])
