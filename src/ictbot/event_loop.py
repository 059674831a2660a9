"""The event loop every command runs on: uvloop where it is installed (Linux, macOS), asyncio's own elsewhere.

Why not asyncio's loop: its socket transports allocate a 256 KiB buffer for every read and shrink it to what
arrived. With glibc's allocator those shrunken messages end up spread over the heap's free space, splitting it into
holes too small for the next 256 KiB buffer, so the heap of a bot that reads a WebSocket message per kline kept
growing (about 0.3 MB a market day at 20 symbols) while its live memory stayed flat. uvloop reads into one fixed
buffer and copies out only what arrived.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

try:
    import uvloop
except ImportError:  # Windows: uvloop does not exist there
    uvloop = None


if uvloop is not None:

    class _Loop(uvloop.Loop):
        """uvloop with its connect-cancellation fix (uvloop issue 738, fixed in 0.23; ccxt pins 0.22.1).

        When ``create_connection(sock=...)`` fails or is cancelled after libuv took the socket's descriptor (aiohttp,
        so ccxt, connects this way; a request cancelled by a timeout or a stop does it), libuv closes the descriptor
        but the Python socket still holds its number. Once that socket is garbage-collected it closes the number
        again, by then reused by something else: a bot's API listener, a WebSocket, a database file. Detaching the
        socket leaves the descriptor to libuv alone.
        """

        async def create_connection(self, *args: Any, sock: socket.socket | None = None, **kwargs: Any) -> Any:
            try:
                return await super().create_connection(*args, sock=sock, **kwargs)
            except ValueError:
                raise  # refused before libuv took the descriptor: the socket still owns it
            except BaseException:
                if sock is not None:
                    sock.detach()
                raise


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A fresh loop of the kind the bot runs on (the test suite runs on it too)."""
    return _Loop() if uvloop is not None else asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the bot's event loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
