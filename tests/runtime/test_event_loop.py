"""Every command runs on uvloop where it exists: asyncio's own loop lets a running bot's heap grow for ever."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import sys

import pytest

from ictbot import event_loop


async def _runs_on_uvloop() -> bool:
    return any(cls.__module__.startswith("uvloop") for cls in type(asyncio.get_running_loop()).__mro__)


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
def test_commands_run_on_uvloop():
    assert event_loop.run(_runs_on_uvloop())


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
async def test_the_test_suite_runs_on_the_bots_loop():
    assert await _runs_on_uvloop()


def test_run_returns_the_coroutines_result_and_closes_its_loop():
    loops: list[asyncio.AbstractEventLoop] = []

    async def answer() -> int:
        loops.append(asyncio.get_running_loop())
        return 42

    assert event_loop.run(answer()) == 42
    assert loops[0].is_closed()


async def test_a_cancelled_connect_never_closes_a_descriptor_it_no_longer_owns():
    """A request cancelled while connecting (a timeout, a stop) must not close, much later, whatever reused its
    descriptor number: the bot's API listener, a WebSocket or a database file."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    try:
        sock = socket.create_connection(server.sockets[0].getsockname()[:2])
        connecting = asyncio.ensure_future(loop.create_connection(asyncio.Protocol, sock=sock))
        await asyncio.sleep(0)
        connecting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await connecting
        reader, writer = os.pipe()  # takes the lowest free numbers: the one the connection held among them
        try:
            del sock
            gc.collect()
            os.fstat(reader)
            os.fstat(writer)
        finally:
            os.close(reader)
            os.close(writer)
    finally:
        server.close()
