"""A keep-alive HTTP/1.1 connection of the order client's own, on which an entry is written in the step that decides it.

An entry is the one request whose speed matters. Through ccxt and aiohttp it costs about half a millisecond of
interpreter time and, on Python 3.11, starts on a later turn of the event loop, after whatever else is ready. The
order line formats the signed request itself, writes it to a socket it keeps open and returns at once; the answer
comes back as a future. Every other request, and any entry the line cannot take at that moment, goes through ccxt.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """One HTTP answer: status, headers (names lower-cased) and body text."""

    status: int
    headers: dict[str, str]
    body: str


class LineLost(ConnectionError):
    """The connection ended, broke the protocol or timed out (``timed_out``) before the whole answer came: a request
    written on it may or may not have been executed."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class OrderLine(asyncio.Protocol):
    """One connection to ``base_url``'s host, one request at a time; ``headers`` go with every request."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        *,
        timeout_s: float = 10.0,
        now_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        """``now_ms`` is the clock the line's last use is read on (its keeper pings a line idle for too long)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the order line needs an http(s) URL, not {base_url!r}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        fields = {"Host": parts.netloc, "User-Agent": "ictbot", **headers, "Content-Length": "0"}
        self._head_tail = "".join(f"{name}: {value}\r\n" for name, value in fields.items()) + "\r\n"
        self._timeout_s = timeout_s
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[LineAnswer] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._complete = False
        self._keep_alive = False
        self._now_ms = now_ms
        self.last_used_ms = 0  # ``now_ms()`` of the last request

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    @property
    def ready(self) -> bool:
        """Connected, and no request waiting for its answer."""
        return self._answer is None and self.connected

    async def connect(self) -> None:
        """Open the connection (raises ``OSError`` when the host cannot be reached)."""
        loop = asyncio.get_running_loop()
        await loop.create_connection(
            lambda: self, self._host, self._port, ssl=self._tls, server_hostname=self._host if self._tls else None
        )
        self.last_used_ms = self._now_ms()

    def request(
        self, method: str, target: str, written: Callable[[], None] = lambda: None
    ) -> asyncio.Future[LineAnswer]:
        """Write ``method target`` (path and query, no body) now and call ``written``; the answer comes in the
        returned future, or :class:`LineLost`. Only when ``ready``."""
        transport = self._transport
        if transport is None or self._answer is not None:
            raise RuntimeError("the order line is not ready")
        transport.write(f"{method} {target} HTTP/1.1\r\n{self._head_tail}".encode())
        written()
        loop = asyncio.get_running_loop()
        self._answer = answer = loop.create_future()
        self._timer = loop.call_later(self._timeout_s, self._lose, "no answer within the timeout", True)
        self._parser = httptools.HttpResponseParser(self)
        self._headers, self._body, self._complete, self._keep_alive = {}, [], False, False
        self.last_used_ms = self._now_ms()
        return answer

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # ------------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        if self._parser is None:
            self._lose("data arrived with no request waiting")
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._lose(f"unreadable answer ({exc})")
            return
        if self._complete:
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(f"connection lost ({exc})" if exc else "connection closed by the venue")

    # ------------------------------------------------------------------ httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        self._keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete = True

    # ------------------------------------------------------------------ internals
    def _finish(self) -> None:
        parser, answer = self._parser, self._answer
        assert parser is not None and answer is not None
        result = LineAnswer(parser.get_status_code(), self._headers, b"".join(self._body).decode(errors="replace"))
        self._settled()
        if not answer.done():
            answer.set_result(result)
        if not self._keep_alive:
            self.close()

    def _lose(self, reason: str, timed_out: bool = False) -> None:
        """Drop the connection: what comes on it can no longer be matched with a request."""
        self._fail(reason, timed_out)
        self.close()

    def _fail(self, reason: str, timed_out: bool = False) -> None:
        answer = self._answer
        self._settled()
        if answer is not None and not answer.done():
            answer.set_exception(LineLost(f"order line to {self.origin}: {reason}", timed_out=timed_out))

    def _settled(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._answer = self._timer = self._parser = None
