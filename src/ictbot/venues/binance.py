"""Binance USDT-M market data through ccxt (async REST + WebSocket), for live, paper and replay modes.

ccxt's kline stream keeps every update of the forming candle but drops Binance's ``x`` (closed) flag; the client
below keeps ccxt's parsing and adds exactly that, so the engine acts on a candle the moment Binance closes it.
Base URLs come from the caller, so the same code talks to Binance, its testnet, or the local exchange.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ccxt.pro

from ictbot.data.download import MAX_PAGE
from ictbot.domain import Candle, Timeframe
from ictbot.errors import VenueError
from ictbot.symbols import SymbolSpec

if TYPE_CHECKING:
    from ictbot.config import Settings

log = logging.getLogger("ictbot.venue")


@dataclass(frozen=True, slots=True)
class ClosedKline:
    """A closed candle as it arrived, with the local time of arrival (``time.perf_counter_ns``) for latency."""

    symbol: str
    timeframe: Timeframe
    candle: Candle
    arrived_ns: int


class _ClosedKlineClient(ccxt.pro.binanceusdm):
    """ccxt's Binance USDT-M client that also reports each kline update carrying ``x: true``, and can hold messages.

    ccxt handles every message already received in one go; while ``held`` is a deque, messages wait in it instead
    (see ``BinanceMarketData.hold``). ``arrived_ns`` is when the message being handled arrived."""

    def __init__(self, config: dict[str, Any], on_closed: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(config)
        self._on_closed = on_closed
        self.held: deque[tuple[Any, Any, int]] | None = None
        self.arrived_ns = 0

    def handle_message(self, client: Any, message: Any) -> None:
        if self.held is not None:
            self.held.append((client, message, time.perf_counter_ns()))
            return
        self.arrived_ns = time.perf_counter_ns()
        super().handle_message(client, message)

    def handle_held(self, client: Any, message: Any, arrived_ns: int) -> None:
        self.arrived_ns = arrived_ns
        super().handle_message(client, message)

    def ws_dial_delay(self, url: str) -> float:
        """No dial backoff of ccxt's own: it sleeps in real time (up to 30 s before each dial to a venue that refused
        the last one) on top of the supervisor's restart backoff, which runs on the engine's clock and is the one rule
        for when the stream connects again."""
        return 0.0

    def handle_ohlcv(self, client: Any, message: dict) -> None:
        super().handle_ohlcv(client, message)
        # ccxt remembers every candle time a cache received until that cache's watcher reads it, and one kline
        # stream for many symbols returns only one symbol's cache per message: mark them all read, or the others'
        # memory grows by a candle time per kline, forever.
        for by_timeframe in self.ohlcvs.values():
            for cache in by_timeframe.values():
                cache.getLimit(None, None)
        kline = message.get("k") or {}
        if message.get("e") == "kline" and kline.get("x"):
            self._on_closed(kline)


def redirected_config(rest_url: str, ws_url: str, api_key: str = "", secret: str = "") -> dict[str, Any]:
    """ccxt constructor config sending every Binance REST and WebSocket URL to another server (the local exchange).

    Futures paths keep their shape (``{rest_url}/fapi/v1/…``); APIs the server does not serve answer 404 there, so
    nothing can leave for the real Binance by accident.
    """
    urls = ccxt.pro.binanceusdm().describe()["urls"]["api"]
    api: dict[str, Any] = {}
    for name, url in urls.items():
        if isinstance(url, str):
            served = name.startswith("fapi") or name == "sapi"  # sapi: the key's API restrictions
            path = url.split("://", 1)[1].split("/", 1)[1] if served else f"unserved/{name}"
            api[name] = f"{rest_url}/{path}"
    api["ws"] = {
        name: ({k: f"{ws_url}/unserved/ws-api/{k}" for k in value} if isinstance(value, dict) else f"{ws_url}/ws")
        for name, value in urls["ws"].items()
    }
    return {
        "apiKey": api_key,
        "secret": secret,
        "urls": {"api": api},
        "options": {"fetchCurrencies": False, "warnOnFetchOpenOrdersWithoutSymbol": False},
    }


BINANCE_WS = "wss://fstream.binance.com"
BINANCE_DEMO_WS = "wss://fstream.binancefuture.com"
HOLD_S = 0.02  # the longest an order can hold back market data


@dataclass(frozen=True, slots=True)
class VenueConnection:
    """How to reach a venue: the ccxt constructor config, Binance's demo environment or not, the WebSocket base."""

    config: dict[str, Any]
    demo: bool
    ws_url: str


def venue_connection(settings: Settings) -> VenueConnection:
    """The configured venue: any Binance-compatible server by URL, else Binance (its demo environment on testnet)."""
    venue = settings.venue
    key = venue.api_key.get_secret_value() if venue.api_key else ""
    secret = venue.api_secret.get_secret_value() if venue.api_secret else ""
    if venue.rest_url is not None and venue.ws_url is not None:
        return VenueConnection(redirected_config(venue.rest_url, venue.ws_url, key, secret), False, venue.ws_url)
    config: dict[str, Any] = {"options": {"defaultType": "future"}}
    if key and secret:
        config |= {"apiKey": key, "secret": secret}
    return VenueConnection(config, venue.testnet, BINANCE_DEMO_WS if venue.testnet else BINANCE_WS)


class BinanceMarketData:
    """Closed klines for symbols × one timeframe, REST backfill, filters and the venue clock."""

    def __init__(self, config: dict[str, Any], demo: bool = False) -> None:
        """``demo`` uses Binance's demo environment (demo-fapi.binance.com), the current futures testnet."""
        self.closed: asyncio.Queue[Any] = asyncio.Queue()  # closed klines, and wake-up or failure markers
        #: Offered each closed kline first, inside the WebSocket handler; returns whether it took it. A kline it
        #: declines is queued on ``closed``.
        self.take_now: Callable[[ClosedKline], bool] | None = None
        # ccxt also caches every kline update it parses; the engine keeps its own candles, so ccxt keeps only a few.
        options = {"OHLCVLimit": 3, **config.get("options", {})}
        self.client = _ClosedKlineClient({"enableRateLimit": True, **config, "options": options}, self._push)
        if demo:
            self.client.enable_demo_trading(True)
        self._markets: dict[str, dict[str, Any]] = {}
        self._release: asyncio.TimerHandle | None = None

    def hold(self) -> None:
        """Hold the messages not handled yet (other symbols' klines of the same burst) until ``release()``, at most
        ``HOLD_S``: an order made by the kline just handled leaves before them. Call it from the kline's handler."""
        if self.client.held is None:
            self.client.held = deque()
            self._release = asyncio.get_running_loop().call_later(HOLD_S, self.release)

    def release(self) -> None:
        """Handle the held messages, in order, as soon as the event loop is free (the order is on its way)."""
        if self._release is not None:
            self._release.cancel()
            self._release = None
            asyncio.get_running_loop().call_soon(self._handle_held)

    def _handle_held(self) -> None:
        held, self.client.held = self.client.held, None
        while held:
            self.client.handle_held(*held.popleft())
            if self.client.held is not None:  # another order: the rest waits behind it, still in order
                self.client.held.extend(held)
                return

    async def load_markets(self) -> dict[str, SymbolSpec]:
        """Filters of every USDT-M perpetual, keyed by Binance symbol id (``BTCUSDT``)."""
        try:
            markets = await self.client.load_markets()
        except ccxt.BaseError as exc:
            raise VenueError(f"cannot load Binance markets ({exc}); check the venue URLs and the network") from exc
        self._markets = {m["id"]: m for m in markets.values() if m.get("swap") and m.get("linear")}
        return {market_id: _spec(market) for market_id, market in self._markets.items()}

    async def market_time(self, symbol: str) -> int:
        """The venue's market clock (``premiumIndex.time``), which decides whether a candle has closed."""
        index = await self.client.fapiPublicGetPremiumIndex({"symbol": symbol})
        return int(index["time"])

    async def closed_candles(self, symbol: str, timeframe: Timeframe, since: int | None, limit: int) -> list[Candle]:
        """Closed candles from ``since`` (or the newest ``limit``, at most one page) via REST; the forming candle is
        left out. Binance weighs the request by its limit, so callers ask for what they need."""
        limit = min(limit, MAX_PAGE)
        rows = await self.client.fetch_ohlcv(self._unified(symbol), timeframe.binance, since=since, limit=limit)
        now = await self.market_time(symbol)
        return [
            Candle(int(t), float(o), float(h), float(lo), float(c), float(v))
            for t, o, h, lo, c, v in rows
            if int(t) + timeframe.ms <= now
        ]

    async def stream(self, symbols: list[str], timeframe: Timeframe, beat: Callable[[], None]) -> None:
        """Keep the kline subscriptions alive; closed klines land in ``self.closed``. Returns only by raising."""
        subscriptions = [[self._unified(s), timeframe.binance] for s in symbols]
        while True:
            await self.client.watch_ohlcv_for_symbols(subscriptions)
            beat()

    async def close(self) -> None:
        if self._release is not None:
            self._release.cancel()
        await self.client.close()

    def _push(self, kline: dict[str, Any]) -> None:
        arrived = self.client.arrived_ns
        candle = Candle(
            int(kline["t"]),
            float(kline["o"]),
            float(kline["h"]),
            float(kline["l"]),
            float(kline["c"]),
            float(kline["v"]),
        )
        closed = ClosedKline(str(kline["s"]), Timeframe.parse(kline["i"]), candle, arrived)
        if self.take_now is None or not self.take_now(closed):
            self.closed.put_nowait(closed)

    def _unified(self, symbol: str) -> str:
        market = self._markets.get(symbol)
        if market is None:
            raise VenueError(f"{symbol} is not a Binance USDT-M perpetual; fix `symbols` in the settings")
        return market["symbol"]


def _spec(market: dict[str, Any]) -> SymbolSpec:
    """Filters from the raw exchangeInfo entry ccxt keeps in ``market['info']``."""
    filters = {f["filterType"]: f for f in market["info"].get("filters", [])}
    price = filters.get("PRICE_FILTER", {})
    lot = filters.get("LOT_SIZE", {})
    market_lot = filters.get("MARKET_LOT_SIZE", lot)
    notional = filters.get("MIN_NOTIONAL", {})
    percent = filters.get("PERCENT_PRICE", {})
    return SymbolSpec(
        symbol=market["id"],
        tick_size=Decimal(price.get("tickSize", "0.01")),
        step_size=Decimal(lot.get("stepSize", "0.001")),
        min_qty=Decimal(lot.get("minQty", "0.001")),
        min_notional=Decimal(notional.get("notional", "5")),
        max_qty=Decimal(lot.get("maxQty", "1000000")),
        market_max_qty=Decimal(market_lot.get("maxQty", "1000000")),
        percent_up=Decimal(percent.get("multiplierUp", "1.05")),
        percent_down=Decimal(percent.get("multiplierDown", "0.95")),
    )
