"""The forwarder `modelplane dev install` runs: a client of `<address>:<port>` talks to the server
on `127.0.0.1:<port>`, a half-closed request still gets its whole answer, and a port with no
server behind it closes the client's connection instead of hanging. On 127.0.0.2, no node."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from modelplane_cli.local.forward import forward

LISTEN = "127.0.0.2"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Reads the whole request (until the client half-closes), answers it in upper case."""
    writer.write((await reader.read()).upper())
    await writer.drain()
    writer.close()


async def _ask(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(LISTEN, port)
    writer.write(request)
    writer.write_eof()
    answer = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    return answer


async def _scenario() -> tuple[bytes, bytes]:
    served, dead = _free_port(), _free_port()
    server = await asyncio.start_server(_upper, "127.0.0.1", served)
    forwarder = asyncio.create_task(forward(LISTEN, [served, dead]))
    try:
        await asyncio.sleep(0.2)
        answer = await _ask(served, b"x" * 200_000 + b"end")
        nothing = await _ask(dead, b"anyone?")
    finally:
        forwarder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwarder
        server.close()
    return answer, nothing


def test_the_forwarder_carries_a_half_closed_request_and_its_answer_to_loopback() -> None:
    answer, nothing = asyncio.run(_scenario())
    assert answer == b"X" * 200_000 + b"END"
    assert nothing == b""
