"""A hygienic Binance USDT-M client: Binance's own JSON, Binance's limits, and no blind re-send of an order.

Every request goes through :meth:`VenueClient._send`, which

* waits while a 429 or a 418 ban runs (nothing is sent during a ban) and before a request that would overrun the
  known weight or order budget (Binance's limits, corrected by the ``X-MBX-…`` headers of every answer);
* resyncs the clock once on -1021, retries 429/418/503 "Service Unavailable." (Binance did not process those), and
  retries reads and idempotent settings on network errors and 5xx with exponential backoff and jitter;
* raises :class:`OutcomeUnknown` for an order or cancel whose fate is unknown, so the caller queries by client id
  instead of risking a duplicate.

Responses come from ccxt's implicit raw endpoints, so prices and quantities stay Binance's exact decimal strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import ccxt
import ccxt.pro

from ictbot.domain import Side
from ictbot.errors import VenueError
from ictbot.execution.order_line import LineAnswer, LineLost, OrderLine
from ictbot.kernel.clock import Clock, WallClock

log = logging.getLogger("ictbot.venue")

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

MINUTE_MS = 60_000
NEW_ORDER_PATH = "/fapi/v1/order"
LINES = 4  # order lines: entries of one burst each get one, while earlier ones wait for their answers
LINE_IDLE_S = 20.0  # the order line pings after this long without a request
LINE_CHECK_S = 1.0  # how often the order line's keeper looks at it
DEFAULT_BAN_S = 120.0  # Binance's shortest ban, when the answer names no end
_MAX_THROTTLED = 5  # 429s in a row for one request before giving up
_BANNED_UNTIL = re.compile(r"banned until (\d+)")
# Answers Binance guarantees were not processed, besides 429/418 and -1021: safe to send again.
_UNPROCESSED_CODES = frozenset({-1008})
_NOT_FOUND = frozenset({-2011, -2013})
_HINTS = {
    -1022: "; check the API secret",
    -2014: "; check the API key",
    -2015: "; check the API key, its futures permission and its IP whitelist",
}


# ------------------------------------------------------------------------------------------------------- errors
class OutcomeUnknown(VenueError):
    """An order or cancel may or may not have been executed (timeout, connection lost, 5xx, 503 -1007).

    The client never re-sends it; query the order by its client id before acting again.
    """


class VenueRejected(VenueError):
    """The venue refused a request for sure; ``code`` is Binance's error code."""

    def __init__(self, code: int, message: str, context: str = "") -> None:
        super().__init__(f"{context}: Binance {code} {message}" if context else f"Binance {code} {message}")
        self.code = code
        self.message = message


class OrderRejected(VenueRejected):
    """The venue refused an order or cancel for sure (e.g. -2019 margin, -2022 reduce-only, -4164 min notional)."""


class OrderExpired(VenueError):
    """A new order was not sent: it waited (a 429/418 pause, a full budget) past the time it was valid for."""


class VenueUnavailable(VenueError):
    """The venue could not be used: retries exhausted, or a ban longer than the client may wait."""


# ------------------------------------------------------------------------------------------------- venue records
@dataclass(frozen=True, slots=True)
class VenueOrder:
    symbol: str
    client_order_id: str
    order_id: int
    side: Side
    order_type: str
    status: str
    price: Decimal
    quantity: Decimal
    executed_quantity: Decimal
    average_price: Decimal
    reduce_only: bool
    update_time: int


@dataclass(frozen=True, slots=True)
class VenueAlgoOrder:
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
    update_time: int


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A one-way position; ``quantity`` is signed (negative short)."""

    symbol: str
    quantity: Decimal
    entry_price: Decimal
    leverage: int
    isolated: bool
    update_time: int


@dataclass(frozen=True, slots=True)
class VenueBalance:
    wallet: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class VenueTrade:
    """One fill; ``commission`` is the fee paid (positive); Binance's trade list carries no client order id."""

    symbol: str
    trade_id: int
    order_id: int
    client_order_id: str | None
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    realized_pnl: Decimal
    maker: bool
    time: int


# ------------------------------------------------------------------------------------------------ rate limiting
class _Answer(Exception):
    """An HTTP error answer as Binance sent it; raised from inside ccxt so nothing of it is lost."""

    def __init__(self, status: int, code: int | None, message: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} {code} {message}")
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass
class _Window:
    """One of Binance's limiters: ``used`` of ``limit`` in the current window of ``span_ms`` of venue time."""

    limit: int
    span_ms: int
    used: int = 0
    index: int = -1

    def roll(self, now_ms: int) -> None:
        index = now_ms // self.span_ms
        if index > self.index:
            self.index, self.used = index, 0

    def wait_s(self, now_ms: int, cost: int) -> float:
        """Seconds until ``cost`` more fits (0: now; a request bigger than the whole budget goes in a fresh window)."""
        self.roll(now_ms)
        if not cost or not self.used or self.used + cost <= self.limit:
            return 0.0
        return ((self.index + 1) * self.span_ms - now_ms) / 1000


@dataclass
class _Pause:
    """No request until ``until`` (limiter time, ms): a 429 wait or a 418 ban."""

    until: int
    reason: str
    ban: bool


class _Limits:
    """The request-weight and order-count budgets and the pauses every request waits out before it is sent.

    Its clock is the venue's plus whatever the injected ``sleep`` claimed beyond the real time it took, so a test's
    instant sleep moves it just as a real one does.
    """

    def __init__(self, sleep: Sleep, venue_ms: Callable[[], int], max_ban_wait_s: float) -> None:
        self.weight = _Window(2400, MINUTE_MS)
        self.orders_10s = _Window(300, 10_000)
        self.orders_1m = _Window(1200, MINUTE_MS)
        self.pause: _Pause | None = None
        self.counts = {"throttled": 0, "banned": 0, "retries": 0, "resyncs": 0, "waits": 0}
        self._sleep, self._venue_ms, self._max_ban_wait_s = sleep, venue_ms, max_ban_wait_s
        self._skipped_ms = 0

    def now_ms(self) -> int:
        return self._venue_ms() + self._skipped_ms

    def configure(self, rate_limits: list[dict[str, Any]]) -> None:
        """Adopt the limits ``exchangeInfo`` announces."""
        for limit in rate_limits:
            span = {"SECOND": 1000, "MINUTE": MINUTE_MS}.get(limit.get("interval", ""), 0) * int(limit["intervalNum"])
            kind = limit.get("rateLimitType")
            if kind == "REQUEST_WEIGHT" and span == MINUTE_MS:
                self.weight.limit = int(limit["limit"])
            elif kind == "ORDERS" and span == 10_000:
                self.orders_10s.limit = int(limit["limit"])
            elif kind == "ORDERS" and span == MINUTE_MS:
                self.orders_1m.limit = int(limit["limit"])

    def observe(self, headers: dict[str, str]) -> None:
        """The venue's own counts win over the local estimate."""
        now = self.now_ms()
        for window, name in (
            (self.weight, "x-mbx-used-weight-1m"),
            (self.orders_10s, "x-mbx-order-count-10s"),
            (self.orders_1m, "x-mbx-order-count-1m"),
        ):
            if headers.get(name, "").isdigit():
                window.roll(now)
                window.used = int(headers[name])

    def pause_for(self, seconds: float, reason: str, *, ban: bool) -> None:
        until = self.now_ms() + max(int(seconds * 1000), 0)
        if self.pause is None or until > self.pause.until:
            self.pause = _Pause(until, reason, ban)
        self.counts["banned" if ban else "throttled"] += 1
        log.warning("venue paused for %.1f s: %s", seconds, reason)

    def try_book(self, weight: int, orders: int) -> bool:
        """Book the request if it may go now (no pause, room in every window); False if it would have to wait."""
        now = self.now_ms()
        costs = [(self.weight, weight), (self.orders_10s, orders), (self.orders_1m, orders)]
        if (self.pause is not None and self.pause.until > now) or any(w.wait_s(now, c) > 0 for w, c in costs):
            return False
        for window, cost in costs:
            window.used += cost
        return True

    async def acquire(self, weight: int, orders: int) -> None:
        """Wait out pauses and full windows, then book the request against the budgets."""
        costs = [(self.weight, weight), (self.orders_10s, orders), (self.orders_1m, orders)]
        while True:
            now = self.now_ms()
            pause = self.pause
            if pause is not None and pause.until > now:
                remaining = (pause.until - now) / 1000
                if pause.ban and remaining > self._max_ban_wait_s:
                    raise VenueUnavailable(
                        f"Binance has banned this IP for another {remaining:.0f} s ({pause.reason}); ictbot waits "
                        f"at most {self._max_ban_wait_s:.0f} s (max_ban_wait_s). Stop other bots or scripts using "
                        "this IP and its API keys, then start again once the ban has ended"
                    )
                await self._wait(remaining)
                continue
            delay = max(window.wait_s(now, cost) for window, cost in costs)
            if delay <= 0:
                break
            await self._wait(delay)
        for window, cost in costs:
            window.used += cost

    async def _wait(self, seconds: float) -> None:
        self.counts["waits"] += 1
        target = self.now_ms() + math.ceil(seconds * 1000)
        await self._sleep(seconds)
        self._skipped_ms += max(target - self.now_ms(), 0)

    def usage(self) -> dict[str, float]:
        pause = self.pause
        return {
            "weight_1m": self.weight.used,
            "weight_limit_1m": self.weight.limit,
            "orders_10s": self.orders_10s.used,
            "orders_limit_10s": self.orders_10s.limit,
            "orders_1m": self.orders_1m.used,
            "orders_limit_1m": self.orders_1m.limit,
            "paused_s": max(pause.until - self.now_ms(), 0) / 1000 if pause else 0.0,
            **self.counts,
        }


class _RawBinance(ccxt.pro.binanceusdm):
    """ccxt's Binance USDT-M client handing every HTTP answer to ``on_answer`` (which raises on errors), and telling
    ``on_order_written`` the client id of each new order whose request is being written to the socket.

    A new order's signed parameters go in the query string of its POST, with no body (Binance takes either, and its
    own connector does the same): aiohttp then writes the whole request at once in the sending task, where a body
    would wait for a writer task of its own on the next turn of the event loop.
    """

    def __init__(self, config: dict[str, Any], on_answer: Callable[[int, dict[str, str], str, Any], None]) -> None:
        super().__init__(config)
        self._on_answer = on_answer
        self.on_order_written: Callable[[str], None] = lambda client_order_id: None
        self._tracing = aiohttp.TraceConfig()
        self._tracing.on_request_headers_sent.append(self._headers_sent)
        self._tracing.freeze()

    def open(self, lazy: bool = False) -> None:
        super().open(lazy)
        if self.session is not None and self._tracing not in self.session.trace_configs:
            self.session.trace_configs.append(self._tracing)

    def sign(self, path, api=("public",), method="GET", params=None):
        request = super().sign(path, api, method, params or {})
        if method == "POST" and api[0] == "fapiPrivate" and path == "order" and request["body"]:
            request["url"] += "?" + request["body"]
            request["body"] = None
            request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() != "content-type"}
        return request

    async def _headers_sent(self, _session: Any, _context: Any, params: aiohttp.TraceRequestHeadersSentParams) -> None:
        """Called as aiohttp serializes the request's head, which it then writes without yielding in between."""
        if params.method == "POST" and params.url.path.endswith(NEW_ORDER_PATH):
            client_order_id = params.url.query.get("newClientOrderId")
            if client_order_id:
                self.on_order_written(client_order_id)

    def handle_errors(self, code, reason, url, method, headers, body, response, request_headers, request_body):
        self._on_answer(code, headers or {}, body or "", response)


# ------------------------------------------------------------------------------------------------------ client
class VenueClient:
    """Binance USDT-M REST for execution: orders, algo orders, account state, settings and the listen key."""

    def __init__(
        self,
        config: dict[str, Any],
        *,
        demo: bool = False,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        max_ban_wait_s: float = 600.0,
        tries: int = 3,
        backoff_s: float = 0.2,
        order_line: bool = False,
    ) -> None:
        """``config`` is a ccxt constructor config; ``demo`` uses Binance's demo environment (the futures testnet);
        ``order_line`` keeps connections open for :meth:`send_order_now` (see ``execution.order_line``).

        ``clock`` (default: the wall clock) times the order lines' keeper: how often it looks at them and how long
        a line has been idle. ``sleep`` (default: the clock's) is every other wait: retry backoff, rate-limit waits
        and bans; a test that only counts those waits passes one that returns at once.

        ccxt's own rate limiter is off: this client paces requests by Binance's weights and headers instead.
        """
        options = {"adjustForTimeDifference": True, "recvWindow": 5000, **config.get("options", {})}
        self.exchange = _RawBinance({**config, "enableRateLimit": False, "options": options}, self._on_answer)
        #: Called with a new order's client id once its request is written to the socket: the moment it left.
        self.on_order_written: Callable[[str], None] = lambda client_order_id: None
        self.exchange.on_order_written = lambda client_order_id: self.on_order_written(client_order_id)
        if demo:
            self.exchange.enable_demo_trading(True)
        self._clock: Clock = clock if clock is not None else WallClock()
        self._sleep = sleep if sleep is not None else self._clock.sleep
        self._tries = tries
        self._backoff_s = backoff_s
        self._limits = _Limits(self._sleep, self._venue_ms, max_ban_wait_s)
        self._wants_lines = order_line
        self._lines: list[OrderLine] = []
        self._line_keeper: asyncio.Task[None] | None = None
        self.line_entries = 0  # new orders written on an order line

    async def start(self) -> None:
        """Load markets and the venue's limits, sync the clock with the venue's, and open the order lines."""
        await self._send("load markets", self.exchange.load_markets, weight=2, safe=True)
        if self._wants_lines and self.exchange.apiKey and not self._lines:
            base = self.exchange.urls["api"]["fapiPrivate"]
            headers = {"X-MBX-APIKEY": self.exchange.apiKey}
            timeout_s, now_ms = self.exchange.timeout / 1000, self._clock.now_ms
            self._lines = [OrderLine(base, headers, timeout_s=timeout_s, now_ms=now_ms) for _ in range(LINES)]
            for line in self._lines:
                with contextlib.suppress(OSError):  # the keeper retries, and says so
                    await line.connect()
            self._line_keeper = asyncio.create_task(self._keep_lines(f"{urlsplit(base).path}/ping"))

    async def close(self) -> None:
        if self._line_keeper is not None:
            self._line_keeper.cancel()
            await asyncio.gather(self._line_keeper, return_exceptions=True)
        for line in self._lines:
            line.close()
        await self.exchange.close()

    async def _keep_lines(self, ping: str) -> None:
        """Re-open order lines that dropped, and ping on those that idle (venues close idle connections). Entries go
        through ccxt while no line is ready."""
        down: set[int] = set()
        while True:
            for number, line in enumerate(self._lines):
                if not line.connected:
                    try:
                        await line.connect()
                    except OSError as exc:
                        if number not in down:
                            log.warning("order line %d to %s is down (%s); retrying", number + 1, line.origin, exc)
                        down.add(number)
                        continue
                    if number in down:
                        log.warning("order line %d to %s is open again", number + 1, line.origin)
                    down.discard(number)
                elif line.ready and self._idle(line) and self._limits.try_book(1, 0):
                    with contextlib.suppress(ccxt.BaseError, _Answer):  # headers fed the limiter; a loss reconnects
                        await self._line_answer(line.request("GET", ping))
            await self._clock.sleep(LINE_CHECK_S)

    def _idle(self, line: OrderLine) -> bool:
        return self._clock.now_ms() - line.last_used_ms >= LINE_IDLE_S * 1000

    @property
    def order_lines_open(self) -> int:
        return sum(1 for line in self._lines if line.connected)

    def usage(self) -> dict[str, float]:
        """Known budget use (weight, order counts and their limits), the current pause, and fault counters."""
        return self._limits.usage()

    # ------------------------------------------------------------------------------------------------ orders
    def send_order_now(
        self,
        symbol: str,
        side: Side,
        order_type: str,
        quantity: Decimal,
        *,
        price: Decimal | None = None,
        client_order_id: str,
    ) -> asyncio.Future[LineAnswer] | None:
        """Write a new order's request on the order line at once, in the caller's step; pass what this returns to
        :meth:`place_order` for the answer. None when it cannot go at once (the line is down or busy, or a pause or
        a full budget says wait): then :meth:`place_order` alone sends it."""
        line = next((line for line in self._lines if line.ready), None)
        if line is None or not self._limits.try_book(0, 1):
            return None
        params = _order_params(symbol, side, order_type, quantity, price, client_order_id, False, "GTC")
        url = self.exchange.sign("order", ["fapiPrivate"], "POST", params)["url"]
        self.line_entries += 1
        return line.request("POST", url[len(line.origin) :], lambda: self.on_order_written(client_order_id))

    async def place_order(
        self,
        symbol: str,
        side: Side,
        order_type: str,
        quantity: Decimal,
        *,
        price: Decimal | None = None,
        client_order_id: str,
        reduce_only: bool = False,
        time_in_force: str = "GTC",
        sent: asyncio.Future[LineAnswer] | None = None,
        valid: Callable[[], bool] | None = None,
    ) -> VenueOrder:
        """A MARKET or LIMIT order, answered with its state after matching (``newOrderRespType=RESULT``).

        ``sent`` is the same order already written by :meth:`send_order_now`: its answer is the first attempt's.
        ``valid`` is asked just before each send (after any wait): False raises :class:`OrderExpired` instead."""
        params = _order_params(symbol, side, order_type, quantity, price, client_order_id, reduce_only, time_in_force)
        first = None if sent is None else self._line_answer(sent)
        answer = await self._call(
            "fapiPrivatePostOrder", params, weight=0, orders=1, changes_orders=True, first=first, valid=valid
        )
        return _order(answer)

    async def place_algo_order(
        self,
        symbol: str,
        side: Side,
        order_type: str,
        trigger_price: Decimal,
        *,
        client_algo_id: str,
        quantity: Decimal | None = None,
        close_position: bool = False,
        reduce_only: bool = False,
        working_type: str = "CONTRACT_PRICE",
    ) -> VenueAlgoOrder:
        """A conditional STOP_MARKET / TAKE_PROFIT_MARKET held by Binance's Algo Service until it triggers."""
        params = {
            "algoType": "CONDITIONAL",
            "symbol": symbol,
            "side": side.value,
            "type": order_type,
            "triggerPrice": _plain(trigger_price),
            "workingType": working_type,
            "clientAlgoId": client_algo_id,
        }
        if close_position:
            params["closePosition"] = "true"
        elif quantity is None:
            raise ValueError("an algo order needs a quantity or close_position=True")
        else:
            params["quantity"] = _plain(quantity)
        if reduce_only:
            params["reduceOnly"] = "true"
        return _algo(await self._call("fapiPrivatePostAlgoOrder", params, weight=0, orders=1, changes_orders=True))

    async def order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """The order's state, or None when the venue does not know the client id (-2013)."""
        params = {"symbol": symbol, "origClientOrderId": client_order_id}
        answer = await self._call("fapiPrivateGetOrder", params, missing=_NOT_FOUND)
        return None if answer is None else _order(answer)

    async def algo_order(self, symbol: str, client_algo_id: str) -> VenueAlgoOrder | None:
        """The algo order's state, or None when the venue does not know the client id."""
        answer = await self._call("fapiPrivateGetAlgoOrder", {"clientAlgoId": client_algo_id}, missing=_NOT_FOUND)
        return None if answer is None or answer.get("symbol") != symbol else _algo(answer)

    async def cancel_order(self, symbol: str, client_order_id: str) -> VenueOrder | None:
        """Cancel; the canceled order, or None when it is already gone or unknown (-2011/-2013)."""
        params = {"symbol": symbol, "origClientOrderId": client_order_id}
        answer = await self._call("fapiPrivateDeleteOrder", params, changes_orders=True, missing=_NOT_FOUND)
        return None if answer is None else _order(answer)

    async def cancel_algo_order(self, symbol: str, client_algo_id: str) -> VenueAlgoOrder | None:
        """Cancel; the canceled algo order (queried, as the cancel answer carries only ids), or None when gone."""
        answer = await self._call(
            "fapiPrivateDeleteAlgoOrder", {"clientAlgoId": client_algo_id}, changes_orders=True, missing=_NOT_FOUND
        )
        return None if answer is None else await self.algo_order(symbol, client_algo_id)

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every open order and algo order of ``symbol``."""
        await self._call("fapiPrivateDeleteAllOpenOrders", {"symbol": symbol}, changes_orders=True)
        await self._call("fapiPrivateDeleteAlgoOpenOrders", {"symbol": symbol}, changes_orders=True)

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        params = {"symbol": symbol} if symbol else {}
        rows = await self._call("fapiPrivateGetOpenOrders", params, weight=1 if symbol else 40)
        return [_order(row) for row in rows]

    async def open_algo_orders(self, symbol: str | None = None) -> list[VenueAlgoOrder]:
        params = {"symbol": symbol} if symbol else {}
        rows = await self._call("fapiPrivateGetOpenAlgoOrders", params, weight=1 if symbol else 40)
        return [_algo(row) for row in rows]

    # ----------------------------------------------------------------------------------------------- account
    async def positions(self) -> dict[str, VenuePosition]:
        """Non-zero one-way positions by symbol (positionRisk v2, which also carries leverage and margin type)."""
        rows = await self._call("fapiPrivateV2GetPositionRisk", {}, weight=5)
        return {
            row["symbol"]: VenuePosition(
                row["symbol"],
                Decimal(row["positionAmt"]),
                Decimal(row["entryPrice"]),
                int(row["leverage"]),
                row["marginType"].lower() == "isolated",
                int(row["updateTime"]),
            )
            for row in rows
            if Decimal(row["positionAmt"]) and row.get("positionSide", "BOTH") == "BOTH"
        }

    async def balance(self) -> VenueBalance:
        """The USDT wallet balance and what is available for new margin."""
        rows = await self._call("fapiPrivateV3GetBalance", {}, weight=5)
        for row in rows:
            if row["asset"] == "USDT":
                return VenueBalance(Decimal(row["balance"]), Decimal(row["availableBalance"]))
        return VenueBalance(Decimal(0), Decimal(0))

    async def trades(
        self, symbol: str, *, since_ms: int | None = None, order_id: int | None = None
    ) -> list[VenueTrade]:
        """Fills of ``symbol`` (up to 1000): from ``since_ms`` on, or the newest; only ``order_id``'s when given."""
        params: dict[str, Any] = {"symbol": symbol, "limit": 1000}
        if since_ms is not None:
            params["startTime"] = since_ms
        if order_id is not None:
            params["orderId"] = order_id
        rows = await self._call("fapiPrivateGetUserTrades", params, weight=5)
        return [
            VenueTrade(
                row["symbol"],
                int(row["id"]),
                int(row["orderId"]),
                None,
                Side(row["side"]),
                Decimal(row["qty"]),
                Decimal(row["price"]),
                abs(Decimal(row["commission"])),
                Decimal(row["realizedPnl"]),
                bool(row["maker"]),
                int(row["time"]),
            )
            for row in rows
        ]

    # ---------------------------------------------------------------------------------------------- settings
    async def configure_symbol(self, symbol: str, *, leverage: int, isolated: bool = True) -> None:
        """Set the margin type and leverage of ``symbol`` where the venue's differ; refusals name the fix."""
        rows = await self._call("fapiPrivateGetSymbolConfig", {"symbol": symbol}, weight=5)
        current = next((row for row in rows if row["symbol"] == symbol), None)
        if current is None:
            raise VenueError(f"{symbol} has no settings on the venue; check that the symbol is listed")
        wanted = "ISOLATED" if isolated else "CROSSED"
        if current["marginType"].upper() != wanted:
            try:
                await self._call(
                    "fapiPrivatePostMarginType", {"symbol": symbol, "marginType": wanted}, missing=frozenset({-4046})
                )
            except VenueRejected as exc:
                raise VenueError(
                    f"{symbol} is in {current['marginType'].upper()} margin on Binance but ictbot trades it "
                    f"{wanted}, and Binance refuses the change ({exc.code} {exc.message}): close the {symbol} "
                    "position and cancel its open orders on Binance, then start again"
                ) from exc
        if int(current["leverage"]) != leverage:
            try:
                await self._call("fapiPrivatePostLeverage", {"symbol": symbol, "leverage": leverage})
            except VenueRejected as exc:
                raise VenueError(
                    f"{symbol} leverage is {current['leverage']}x on Binance and Binance refuses {leverage}x "
                    f"({exc.code} {exc.message}): set risk.leverage to a value Binance allows for {symbol}, or "
                    "close the position first (isolated leverage cannot be lowered while a position is open)"
                ) from exc

    async def ensure_one_way_mode(self) -> None:
        """Switch the account to one-way position mode if it is in hedge mode; a refusal names the fix."""
        config = await self._call("fapiPrivateGetAccountConfig", {}, weight=5)
        if not config.get("dualSidePosition"):
            return
        try:
            await self._call(
                "fapiPrivatePostPositionSideDual", {"dualSidePosition": "false"}, missing=frozenset({-4059})
            )
        except VenueRejected as exc:
            raise VenueError(
                f"the Binance account is in hedge mode and Binance refuses one-way mode ({exc.code} {exc.message}): "
                "close every position and cancel every open order, or switch to one-way mode on Binance, then "
                "start again"
            ) from exc

    # ------------------------------------------------------------------------------------------ listen key
    async def new_listen_key(self) -> str:
        """The user stream's listen key: the live one extended, or a new one."""
        return str((await self._call("fapiPrivatePostListenKey", {}))["listenKey"])

    async def keepalive_listen_key(self) -> None:
        """Extend the listen key by 60 min; raises :class:`VenueRejected` -1125 when it has expired."""
        await self._call("fapiPrivatePutListenKey", {})

    async def close_listen_key(self) -> None:
        await self._call("fapiPrivateDeleteListenKey", {})

    # ---------------------------------------------------------------------------------------------- plumbing
    async def _call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        weight: int = 1,
        orders: int = 0,
        changes_orders: bool = False,
        missing: frozenset[int] = frozenset(),
        first: Awaitable[Any] | None = None,
        valid: Callable[[], bool] | None = None,
    ) -> Any:
        """One implicit ccxt endpoint. A request that ``changes_orders`` is never re-sent after an unknown outcome
        and its refusals are :class:`OrderRejected`; a refusal whose code is in ``missing`` answers None. ``first``
        is the answer of the same request already sent another way (booked against the budgets already)."""
        what = " ".join(str(v) for v in (method, params.get("symbol"), _client_id(params)) if v)  # never keys
        try:
            return await self._send(
                what,
                lambda: getattr(self.exchange, method)(dict(params)),
                weight=weight,
                orders=orders,
                safe=not changes_orders,
                first=first,
                valid=valid,
            )
        except VenueRejected as exc:
            if exc.code in missing:
                return None
            if changes_orders:
                raise OrderRejected(exc.code, exc.message, what) from None
            raise

    async def _send(
        self,
        what: str,
        request: Callable[[], Awaitable[T]],
        *,
        weight: int,
        orders: int = 0,
        safe: bool,
        first: Awaitable[T] | None = None,
        valid: Callable[[], bool] | None = None,
    ) -> T:
        failures = throttled = 0
        resynced = False
        while True:
            if first is None:
                await self._limits.acquire(weight, orders)
                if valid is not None and not valid():
                    raise OrderExpired(f"{what}: no longer valid after waiting to be sent; not sent")
                attempt = request()
            else:
                attempt, first = first, None
            try:
                return await attempt
            except _Answer as answer:
                if answer.status in (418, 429):
                    throttled += 1
                    if throttled > _MAX_THROTTLED:
                        raise VenueUnavailable(f"{what}: Binance keeps throttling (HTTP {answer.status})") from None
                    self._pause(answer)
                    continue
                if answer.code == -1021 and not resynced:
                    resynced = True
                    self._limits.counts["resyncs"] += 1
                    log.warning("%s: clock outside the venue's recvWindow (-1021); resyncing", what)
                    await self._send("sync time", self.exchange.load_time_difference, weight=1, safe=True)
                    continue
                unprocessed = answer.code in _UNPROCESSED_CODES or (answer.status == 503 and answer.code is None)
                if answer.status < 500 and answer.status != 408 and not unprocessed:
                    code = answer.code or answer.status
                    raise VenueRejected(code, answer.message + _HINTS.get(code, ""), what) from None
                if not (safe or unprocessed):
                    raise OutcomeUnknown(
                        f"{what}: outcome unknown (HTTP {answer.status} {answer.message}); "
                        "query it by its client id before acting again"
                    ) from None
                failure = f"HTTP {answer.status} {answer.message}"
            except ccxt.BaseError as exc:
                sent = not isinstance(exc.__cause__, aiohttp.ClientConnectorError)
                if not isinstance(exc, ccxt.NetworkError) and not isinstance(exc.__cause__, aiohttp.ClientError):
                    raise VenueError(f"{what}: {exc}") from exc
                if not safe and sent:
                    raise OutcomeUnknown(
                        f"{what}: outcome unknown ({type(exc).__name__}); query it by its client id before acting again"
                    ) from exc
                failure = type(exc).__name__
            failures += 1
            if failures >= self._tries:
                raise VenueUnavailable(
                    f"{what}: gave up after {failures} tries ({failure}); check the network and Binance's status"
                )
            self._limits.counts["retries"] += 1
            delay = self._backoff_s * 2 ** (failures - 1) * random.uniform(0.5, 1.0)
            log.warning("%s: %s; retrying in %.2f s", what, failure, delay)
            await self._sleep(delay)

    def _pause(self, answer: _Answer) -> None:
        """How long a 429 (until the next weight window) or a 418 (until the ban ends) keeps every request back."""
        ban = answer.status == 418
        seconds = answer.retry_after
        if seconds is None and ban:
            match = _BANNED_UNTIL.search(answer.message)
            seconds = (int(match.group(1)) - self._venue_ms()) / 1000 if match else DEFAULT_BAN_S
        if seconds is None:
            seconds = (MINUTE_MS - self._limits.now_ms() % MINUTE_MS) / 1000
        self._limits.pause_for(seconds, f"HTTP {answer.status} {answer.code} {answer.message}", ban=ban)

    def _on_answer(self, status: int, headers: dict[str, str], body: str, response: Any) -> None:
        """Every HTTP answer: headers feed the limiter; an error becomes an :class:`_Answer` with Binance's code."""
        lowered = {k.lower(): v for k, v in headers.items()}
        self._limits.observe(lowered)
        if isinstance(response, dict) and isinstance(response.get("rateLimits"), list):
            self._limits.configure(response["rateLimits"])
        code, message = _error(response, body)
        if status < 400 and (code is None or code >= 0):
            return
        retry_after = lowered.get("retry-after", "")
        raise _Answer(status, code, message, float(retry_after) if retry_after.isdigit() else None)

    async def _line_answer(self, sent: asyncio.Future[LineAnswer]) -> Any:
        """An answer from the order line, handled as ccxt's are: a lost line is a network error."""
        try:
            answer = await sent
        except LineLost as exc:
            raise (ccxt.RequestTimeout if exc.timed_out else ccxt.NetworkError)(str(exc)) from exc
        try:
            response = json.loads(answer.body) if answer.body else None
        except ValueError:
            response = None
        self._on_answer(answer.status, answer.headers, answer.body, response)
        return response

    def _venue_ms(self) -> int:
        return int(self.exchange.milliseconds() - self.exchange.options.get("timeDifference", 0))


# ------------------------------------------------------------------------------------------------------ parsing
def _error(response: Any, body: str) -> tuple[int | None, str]:
    """Binance's ``code`` and ``msg`` from an answer (None and the text when the body is not Binance's JSON)."""
    if isinstance(response, dict) and "code" in response:
        try:
            return int(response["code"]), str(response.get("msg", ""))
        except (TypeError, ValueError):
            pass
    return None, body.strip()[:200]


def _order_params(
    symbol: str,
    side: Side,
    order_type: str,
    quantity: Decimal,
    price: Decimal | None,
    client_order_id: str,
    reduce_only: bool,
    time_in_force: str,
) -> dict[str, str]:
    params = {
        "symbol": symbol,
        "side": side.value,
        "type": order_type,
        "quantity": _plain(quantity),
        "newClientOrderId": client_order_id,
        "newOrderRespType": "RESULT",
    }
    if order_type == "LIMIT":
        if price is None:
            raise ValueError("a LIMIT order needs a price")
        params.update(price=_plain(price), timeInForce=time_in_force)
    if reduce_only:
        params["reduceOnly"] = "true"
    return params


def _client_id(params: dict[str, Any]) -> str | None:
    return params.get("newClientOrderId") or params.get("origClientOrderId") or params.get("clientAlgoId")


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _order(row: dict[str, Any]) -> VenueOrder:
    return VenueOrder(
        row["symbol"],
        row["clientOrderId"],
        int(row["orderId"]),
        Side(row["side"]),
        row["type"],
        row["status"],
        Decimal(row["price"]),
        Decimal(row["origQty"]),
        Decimal(row["executedQty"]),
        Decimal(row["avgPrice"]),
        bool(row["reduceOnly"]),
        int(row.get("updateTime") or row.get("time") or 0),
    )


def _algo(row: dict[str, Any]) -> VenueAlgoOrder:
    actual = row.get("actualOrderId")
    return VenueAlgoOrder(
        row["symbol"],
        row["clientAlgoId"],
        int(row["algoId"]),
        Side(row["side"]),
        row["orderType"],
        row["algoStatus"],
        Decimal(row["triggerPrice"]),
        Decimal(row.get("quantity") or 0),
        bool(row["closePosition"]),
        bool(row["reduceOnly"]),
        int(actual) if actual else None,
        int(row.get("updateTime") or row.get("createTime") or 0),
    )
