"""WebSocket market and user-data streams on Binance's current URL layout.

``/market/ws[/<streams>]`` and ``/market/stream?streams=a/b`` carry klines and mark prices (raw or wrapped as
``{"stream": …, "data": …}``); ``/private/ws?listenKey=…`` carries the user-data stream. Since 2026-04-23 Binance's
legacy ``/ws`` and ``/stream`` paths only serve public (book) streams, which this exchange does not produce; pass
``legacy_urls=True`` to serve market and user streams there as before the split.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from ictbot.exchange.errors import BinanceError

PING_INTERVAL_S = 180
_MARKET_STREAM = re.compile(r"^([a-z0-9]+@(kline_\w+|markPrice(@1s)?)|!markPrice@arr(@1s)?)$")


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    request: web.Request
    combined: bool
    market: bool
    listen_key: str | None
    streams: set[str] = field(default_factory=set)
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)


@dataclass
class ListenKey:
    key: str
    expires_at: int


class StreamHub:
    """Every open WebSocket connection; publishes market and user events and injects connection faults."""

    def __init__(self, legacy_urls: bool = False) -> None:
        self.legacy_urls = legacy_urls
        self.connections: set[Connection] = set()
        self.stalled = False
        self.listen_key: ListenKey | None = None

    # ----------------------------------------------------------------------------------------------- handshake
    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/market/ws", self._market_raw),
            web.get("/market/ws/{streams:.*}", self._market_raw),
            web.get("/market/stream", self._market_combined),
            web.get("/public/ws", self._public),
            web.get("/public/ws/{streams:.*}", self._public),
            web.get("/public/stream", self._public),
            web.get("/private/ws", self._private),
            web.get("/private/stream", self._private),
            web.get("/ws", self._legacy_raw),
            web.get("/ws/{streams:.*}", self._legacy_raw),
            web.get("/stream", self._legacy_combined),
        ]

    async def _market_raw(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, combined=False, market=True, streams=request.match_info.get("streams", ""))

    async def _market_combined(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, combined=True, market=True, streams=request.query.get("streams", ""))

    async def _public(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, combined="stream" in request.path, market=False, streams="")

    async def _private(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey", "")
        self._require_listen_key(key)
        return await self._serve(request, combined="stream" in request.path, market=False, streams="", key=key)

    async def _legacy_raw(self, request: web.Request) -> web.StreamResponse:
        streams = request.match_info.get("streams", "")
        if self.legacy_urls and self.listen_key and streams == self.listen_key.key:
            return await self._serve(request, combined=False, market=False, streams="", key=streams)
        return await self._serve(request, combined=False, market=self.legacy_urls, streams=streams)

    async def _legacy_combined(self, request: web.Request) -> web.StreamResponse:
        streams = request.query.get("streams", "")
        return await self._serve(request, combined=True, market=self.legacy_urls, streams=streams)

    def _require_listen_key(self, key: str) -> None:
        if self.listen_key is None or key != self.listen_key.key:
            error = BinanceError(-1125)
            raise web.HTTPBadRequest(text=json.dumps(error.body()), content_type="application/json")

    async def _serve(
        self, request: web.Request, *, combined: bool, market: bool, streams: str, key: str | None = None
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=PING_INTERVAL_S, autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, request, combined, market, key)
        conn.streams.update(s for s in streams.split("/") if _MARKET_STREAM.match(s))
        self.connections.add(conn)
        writer = asyncio.create_task(self._write(conn))
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_request(conn, message.data)
        finally:
            self.connections.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def _on_request(self, conn: Connection, text: str) -> None:
        try:
            request = json.loads(text)
            method, request_id = request["method"], request.get("id")
            params = request.get("params", [])
        except (ValueError, KeyError, TypeError):
            conn.queue.put_nowait(json.dumps({"code": 2, "msg": "Invalid request: malformed JSON"}))
            return
        if method == "SUBSCRIBE":
            conn.streams.update(p for p in params if isinstance(p, str) and _MARKET_STREAM.match(p))
            reply: object = None
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(params)
            reply = None
        elif method == "LIST_SUBSCRIPTIONS":
            reply = sorted(conn.streams)
        else:
            conn.queue.put_nowait(json.dumps({"code": 2, "msg": f"Invalid request: unknown method {method}"}))
            return
        conn.queue.put_nowait(json.dumps({"result": reply, "id": request_id}))

    async def _write(self, conn: Connection) -> None:
        while True:
            text = await conn.queue.get()
            try:
                await conn.ws.send_str(text)
            except ConnectionError:
                return

    # ------------------------------------------------------------------------------------------------ publish
    def has_subscribers(self, stream: str) -> bool:
        return any(conn.market and stream in conn.streams for conn in self.connections)

    def publish(self, stream: str, payload: object) -> None:
        """Send a market event to every connection subscribed to ``stream`` (dropped while stalled)."""
        if self.stalled:
            return
        raw = json.dumps(payload)
        wrapped = None
        for conn in self.connections:
            if conn.market and stream in conn.streams:
                if conn.combined:
                    wrapped = wrapped or json.dumps({"stream": stream, "data": payload})
                    conn.queue.put_nowait(wrapped)
                else:
                    conn.queue.put_nowait(raw)

    def publish_user(self, payload: dict[str, object], now: int) -> int:
        """Send a user-data event to connections of the live listen key (dropped while stalled); returns to how
        many connections it went."""
        if self.stalled or self.listen_key is None or now >= self.listen_key.expires_at:
            return 0
        return self._send_user(self.listen_key.key, payload)

    def _send_user(self, key: str, payload: dict[str, object]) -> int:
        text = json.dumps(payload)
        sent = 0
        for conn in self.connections:
            if conn.listen_key == key:
                conn.queue.put_nowait(text)
                sent += 1
        return sent

    # -------------------------------------------------------------------------------------------- listen keys
    def open_listen_key(self, now: int, ttl_ms: int) -> str:
        """``POST /fapi/v1/listenKey``: the live key extended, or a new one."""
        if self.listen_key is None or now >= self.listen_key.expires_at:
            self.listen_key = ListenKey(secrets.token_urlsafe(48)[:64], now + ttl_ms)
        else:
            self.listen_key.expires_at = now + ttl_ms
        return self.listen_key.key

    def keep_alive(self, now: int, ttl_ms: int) -> str:
        if self.listen_key is None or now >= self.listen_key.expires_at:
            raise BinanceError(-1125)
        self.listen_key.expires_at = now + ttl_ms
        return self.listen_key.key

    def close_listen_key(self) -> None:
        self.listen_key = None

    def expire_listen_key(self, now: int, force: bool = False) -> bool:
        """Expire the key if its time is up (or ``force``): push ``listenKeyExpired``, then deliver nothing more."""
        key = self.listen_key
        if key is None or (not force and now < key.expires_at):
            return False
        self._send_user(key.key, {"e": "listenKeyExpired", "E": str(now), "listenKey": key.key})
        self.listen_key = None
        return True

    # ------------------------------------------------------------------------------------------------- faults
    def drop_all(self) -> int:
        """Cut every connection at the TCP level, without a close frame, as a network failure would."""
        dropped = 0
        for conn in list(self.connections):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
                dropped += 1
        return dropped

    async def close_all(self) -> None:
        for conn in list(self.connections):
            await conn.ws.close()
