"""Binance's user-data stream as typed events, with its own listen-key lifecycle and reconnects.

Events sent while no connection is up are lost for good, so every connection starts with :class:`StreamReconnected`
(the first one's reason is ``"connected"``): the order manager's signal to reconcile with the venue's REST state. The
first one counts too: a stream started again after a crash of its stage missed the events in between. A dead
connection (a TCP cut without a close frame) is found by WebSocket heartbeats; a closed one, an expired listen key
(``listenKeyExpired``, or -1125 on keepalive) or a failed handshake all lead to a new key and a new connection, after
exponential backoff with jitter when the cause was a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from ictbot.domain import Side
from ictbot.errors import VenueError
from ictbot.execution.client import Sleep, VenueClient, VenueRejected

log = logging.getLogger("ictbot.venue.stream")

_ENDED = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """``ORDER_TRADE_UPDATE``: a normal order's new state; ``execution_type`` TRADE carries one fill."""

    symbol: str
    client_order_id: str
    order_id: int
    side: Side
    order_type: str
    status: str
    execution_type: str
    last_filled_quantity: Decimal
    last_filled_price: Decimal
    cumulative_quantity: Decimal
    average_price: Decimal
    commission: Decimal
    realized_pnl: Decimal
    maker: bool
    reduce_only: bool
    trade_id: int
    time: int
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class AlgoUpdate:
    """``ALGO_UPDATE``: a conditional order's new state; ``actual_order_id`` is the order it became on trigger."""

    symbol: str
    client_algo_id: str
    algo_id: int
    side: Side
    order_type: str
    status: str
    trigger_price: Decimal
    quantity: Decimal
    close_position: bool
    reduce_only: bool
    actual_order_id: int | None
    reject_reason: str
    time: int


@dataclass(frozen=True, slots=True)
class BalanceUpdate:
    asset: str
    wallet: Decimal
    cross_wallet: Decimal
    change: Decimal


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """A position after the change; ``quantity`` signed (negative short)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    unrealized_pnl: Decimal
    isolated: bool
    isolated_wallet: Decimal
    position_side: str


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """``ACCOUNT_UPDATE``: balances and positions that changed, and why (ORDER, FUNDING_FEE, …)."""

    reason: str
    balances: tuple[BalanceUpdate, ...]
    positions: tuple[PositionUpdate, ...]
    time: int


@dataclass(frozen=True, slots=True)
class StreamReconnected:
    """A new connection is up after a gap in which events may have been lost (``reason`` "connected": the stream's
    first connection, before which nothing was heard): reconcile now."""

    reason: str


UserEvent = OrderUpdate | AlgoUpdate | AccountUpdate | StreamReconnected


class UserStream:
    """The account's user-data stream on ``{ws_base_url}/private/ws?listenKey=…`` (Binance's 2026 URL layout)."""

    def __init__(
        self,
        client: VenueClient,
        ws_base_url: str,
        *,
        keepalive_s: float = 1800.0,
        heartbeat_s: float = 30.0,
        idle_beat_s: float = 10.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        beat: Callable[[], None] | None = None,
        sleep: Sleep = asyncio.sleep,
        handled: Callable[[], None] | None = None,
    ) -> None:
        """``heartbeat_s``: ping interval that detects a dead connection (no pong within half of it);
        ``beat``: called on every message and at least every ``idle_beat_s`` while the connection is quiet;
        ``handled``: called once per event message when the consumer is done with it (a lockstep replay counts)."""
        self._client = client
        self._base = ws_base_url.rstrip("/")
        self._keepalive_s, self._heartbeat_s, self._idle_beat_s = keepalive_s, heartbeat_s, idle_beat_s
        self._backoff_s, self._max_backoff_s = backoff_s, max_backoff_s
        self._beat = beat or (lambda: None)
        self._sleep = sleep
        self._handled = handled or (lambda: None)

    async def events(self) -> AsyncIterator[UserEvent]:
        """Every user event, forever; reconnects by itself. Stop by closing the iterator or cancelling its task."""
        gap = "connected"  # why the previous connection ended; "connected" before the first attempt
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                self._beat()
                renewal: list[str] = []
                try:
                    key = await self._client.new_listen_key()
                    async with session.ws_connect(
                        f"{self._base}/private/ws?listenKey={key}", heartbeat=self._heartbeat_s
                    ) as ws:
                        failures = 0
                        if gap != "connected":
                            log.warning("user stream reconnected after: %s", gap)
                        yield StreamReconnected(gap)
                        keepalive = asyncio.create_task(self._keep_alive(ws, renewal))
                        try:
                            async for event in self._read(ws, renewal):
                                yield event
                        finally:
                            keepalive.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await keepalive
                    gap = renewal[0] if renewal else f"connection closed ({ws.exception() or ws.close_code})"
                except (TimeoutError, aiohttp.ClientError, VenueError) as exc:
                    gap = f"cannot connect ({type(exc).__name__}: {exc})"
                if renewal:
                    continue
                failures += 1
                delay = min(self._backoff_s * 2 ** (failures - 1), self._max_backoff_s) * random.uniform(0.5, 1.0)
                log.warning("user stream down (%s); reconnecting in %.1f s", gap, delay)
                await self._sleep(delay)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, renewal: list[str]) -> AsyncIterator[UserEvent]:
        """Events of one connection until it ends or its listen key expires (then ``renewal`` says so)."""
        while not renewal:
            try:
                message = await ws.receive(timeout=self._idle_beat_s)
            except TimeoutError:
                self._beat()
                continue
            self._beat()
            if message.type in _ENDED:
                return
            if message.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            if payload.get("e") == "listenKeyExpired":
                renewal.append("listen key expired")
                return
            event = parse_event(payload)
            if event is not None:
                yield event
            self._handled()

    async def _keep_alive(self, ws: aiohttp.ClientWebSocketResponse, renewal: list[str]) -> None:
        """Extend the listen key every ``keepalive_s``; on -1125 the key is gone: end the connection for a new one."""
        while True:
            await self._sleep(self._keepalive_s)
            try:
                await self._client.keepalive_listen_key()
            except VenueRejected as exc:
                if exc.code != -1125:
                    log.warning("listen key keepalive refused (%s); trying again in %.0f s", exc, self._keepalive_s)
                    continue
                renewal.append("listen key expired (keepalive -1125)")
                await ws.close()
                return
            except VenueError as exc:
                log.warning("listen key keepalive failed (%s); trying again in %.0f s", exc, self._keepalive_s)


def parse_event(payload: dict[str, Any]) -> OrderUpdate | AlgoUpdate | AccountUpdate | None:
    """The typed event for a user-stream payload; None for kinds the bot does not act on."""
    kind = payload.get("e")
    if kind == "ORDER_TRADE_UPDATE":
        o = payload["o"]
        return OrderUpdate(
            o["s"],
            o["c"],
            int(o["i"]),
            Side(o["S"]),
            o["o"],
            o["X"],
            o["x"],
            Decimal(o["l"]),
            Decimal(o["L"]),
            Decimal(o["z"]),
            Decimal(o["ap"]),
            Decimal(o.get("n") or 0),
            Decimal(o.get("rp") or 0),
            bool(o["m"]),
            bool(o["R"]),
            int(o["t"]),
            int(o["T"]),
            Decimal(o["q"]),
            Decimal(o["p"]),
        )
    if kind == "ALGO_UPDATE":
        o = payload["o"]
        return AlgoUpdate(
            o["s"],
            o["caid"],
            int(o["aid"]),
            Side(o["S"]),
            o["o"],
            o["X"],
            Decimal(o["tp"]),
            Decimal(o.get("q") or 0),
            bool(o["cp"]),
            bool(o["R"]),
            int(o["ai"]) if o.get("ai") else None,
            o.get("rm") or "",
            int(payload["T"]),
        )
    if kind == "ACCOUNT_UPDATE":
        a = payload["a"]
        balances = tuple(
            BalanceUpdate(b["a"], Decimal(b["wb"]), Decimal(b["cw"]), Decimal(b.get("bc") or 0)) for b in a["B"]
        )
        positions = tuple(
            PositionUpdate(
                p["s"],
                Decimal(p["pa"]),
                Decimal(p["ep"]),
                Decimal(p["up"]),
                p["mt"] == "isolated",
                Decimal(p.get("iw") or 0),
                p["ps"],
            )
            for p in a.get("P", [])
        )
        return AccountUpdate(a["m"], balances, positions, int(payload["T"]))
    return None
