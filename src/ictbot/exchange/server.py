"""``LocalExchange``: the Binance USDT-M look-alike on loopback, its replay clock and its fault knobs.

Use it in-process (tests, the offline default) as an async context manager::

    async with LocalExchange.from_files(["BTC_USDT_USDT-1m-futures.feather"], warmup=300) as ex:
        client = ccxt.async_support.binanceusdm(ex.ccxt_config())
        await ex.advance(5)        # five candles, deterministically
        ex.start_clock(speed=60)   # or let the replay run: 60× real time, math.inf = as fast as possible
        ex.start_clock(speed=math.inf, gate=bot_caught_up)  # lockstep: wait for the bot after each event it gets
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles, load_funding_rates, load_mark_prices, parse_file_name
from ictbot.exchange.engine import Engine
from ictbot.exchange.faults import Faults
from ictbot.exchange.limits import RateLimiter
from ictbot.exchange.lockstep import Delivered, Gate, LockstepTimeout, wait_for_bot
from ictbot.exchange.numbers import fmt
from ictbot.exchange.replay import (
    INTERVAL_MS,
    TICKS_PER_CANDLE,
    CandleClosed,
    FundingDue,
    MarketEvent,
    MarketReplay,
    Tick,
)
from ictbot.exchange.rest import RestApi
from ictbot.exchange.signing import Credentials
from ictbot.exchange.streams import StreamHub

LISTEN_KEY_TTL_MS = 3_600_000


class LocalExchange:
    """A faithful subset of Binance USDT-M futures replaying real candles; see ``docs/exchange.md``."""

    def __init__(
        self,
        frames: Sequence[CandleFrame],
        *,
        warmup: int = 500,
        balance: Decimal = Decimal(10_000),
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Credentials | None = None,
        funding: dict[str, dict[int, Decimal]] | None = None,
        marks: dict[str, CandleFrame] | None = None,
        weight_limit: int = 2400,
        listen_key_ttl_ms: int = LISTEN_KEY_TTL_MS,
        legacy_ws_urls: bool = False,
        slippage_ticks: int = 0,
    ) -> None:
        self.replay = MarketReplay(list(frames), warmup, funding)
        self.marks = dict(marks or {})  # recorded mark-price candles per symbol, served by markPriceKlines
        self.engine = Engine(self.replay, balance)
        self.engine.slippage_ticks = slippage_ticks
        self.engine.sink = self._user_event
        self.credentials = credentials or Credentials.generate()
        self.limiter = RateLimiter(weight_limit=weight_limit)
        self.faults = Faults()
        self.withdrawals_enabled = False
        self.hub = StreamHub(legacy_urls=legacy_ws_urls)
        self.listen_key_ttl_ms = listen_key_ttl_ms
        self.host, self.port = host, port
        self.speed: float | None = None
        self._runner: web.AppRunner | None = None
        self._clock: asyncio.Task[None] | None = None
        self._pending: collections.deque[MarketEvent] = collections.deque()  # the current step's events still due
        self._watcher: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()  # set once the last candle is replayed, however the clock was driven
        self.user_events_sent = 0  # user-stream messages delivered to connections, for a lockstep gate
        self._closed_sent: dict[str, int] = {}  # open time of each symbol's last candle closed by the clock
        self.clock_error: LockstepTimeout | None = None  # why a lockstep clock stopped before the end

    @classmethod
    def from_files(
        cls,
        paths: Sequence[str | Path],
        *,
        symbol: str | None = None,
        funding_files: Sequence[str | Path] = (),
        mark_files: Sequence[str | Path] = (),
        shift_to_ms: int | None = None,
        **options: Any,
    ) -> LocalExchange:
        """Load candle files (symbol from each file name, or ``symbol`` for a single file), funding-rate files and
        mark-price files (``*-mark.feather``; without one a symbol's mark price is its trade price).

        ``shift_to_ms`` moves the whole history (candles and funding) so that the replay starts at that time, e.g.
        now: a bot in live mode then sees fresh candles and judges its readiness as it would on Binance."""
        if symbol is not None and len(paths) != 1:
            raise ValueError("--symbol names the symbol of a single data file; pass one file or none")
        frames = [load_candles(p, symbol=symbol) for p in paths]
        funding: dict[str, dict[int, Decimal]] = {}
        for path in funding_files:
            name = parse_file_name(path).symbol
            if name is None:
                raise ValueError(f"{path}: no symbol in the funding file name")
            times, rates = load_funding_rates(path)
            funding[name] = {int(t): Decimal(repr(float(r))) for t, r in zip(times, rates, strict=True)}
        marks: dict[str, CandleFrame] = {}
        for path in mark_files:
            mark = load_mark_prices(path)
            if mark.symbol is None:
                raise ValueError(f"{path}: no symbol in the mark-price file name")
            marks[mark.symbol] = mark
        if shift_to_ms is not None:
            start = MarketReplay(frames, options.get("warmup", 500)).now
            unit = max(int(f.timeframe.ms) for f in frames)  # keeps every candle on its timeframe's boundary
            shift = (shift_to_ms - start) // unit * unit
            frames = [dataclasses.replace(f, open_time=f.open_time + shift) for f in frames]
            funding = {s: {t + shift: r for t, r in rates.items()} for s, rates in funding.items()}
            marks = {s: dataclasses.replace(m, open_time=m.open_time + shift) for s, m in marks.items()}
        return cls(frames, funding=funding, marks=marks, **options)

    # ------------------------------------------------------------------------------------------------ lifecycle
    async def start(self) -> LocalExchange:
        app = web.Application()
        app.add_routes(RestApi(self).routes())
        app.add_routes(self.hub.routes())
        app.add_routes([web.post("/admin/{action}", self._admin), web.get("/admin/state", self._admin_state)])
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]
        self._watcher = asyncio.create_task(self._watch_listen_keys())
        return self

    async def stop(self) -> None:
        for task in (self._clock, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, LockstepTimeout):  # the error is in clock_error
                    await task
        self._clock = self._watcher = None
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalExchange:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def rest_url(self) -> str:
        """Base of the REST API: ``{rest_url}/fapi/v1/...``."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base of the streams: ``{ws_url}/market/ws``, ``{ws_url}/market/stream``, ``{ws_url}/private/ws``."""
        return f"ws://{self.host}:{self.port}"

    def ccxt_config(self, **extra: Any) -> dict[str, Any]:
        """Constructor config for ``ccxt.async_support.binanceusdm`` / ``ccxt.pro.binanceusdm`` talking to this server.

        Every REST and WebSocket URL ccxt knows for Binance is pointed here, so nothing can leave loopback; the
        endpoints this exchange does not serve answer 404.
        """
        from ictbot.venues.binance import redirected_config

        config = redirected_config(self.rest_url, self.ws_url, self.credentials.api_key, self.credentials.api_secret)
        config.update(extra)
        return config

    # -------------------------------------------------------------------------------------------------- clocks
    def wall_time(self) -> int:
        return int(time.time() * 1000)

    def server_time(self) -> int:
        """The request clock (``GET /fapi/v1/time``, recvWindow checks): wall clock plus any injected skew."""
        return self.wall_time() + self.faults.clock_skew_ms

    async def advance(self, candles: int = 1) -> int:
        """Replay the next ``candles`` base candles at once; returns how many were replayed (fewer at the end)."""
        done = self.replay_candles(candles)
        await asyncio.sleep(0)
        return done

    def replay_candles(self, candles: int = 1) -> int:
        """The synchronous core of :meth:`advance`, for drivers without an event loop (property tests); a step the
        clock was stopped in the middle of is finished first, and counts as one."""
        done = 0
        while done < candles and (self._pending or not self.replay.finished):
            if not self._pending:
                self._pending.extend(self.replay.step())
            while self._pending:
                self._process(self._pending.popleft())
            self._end_step()
            done += 1
        return done

    def start_clock(self, speed: float, gate: Gate | None = None, gate_timeout_s: float = 60.0) -> None:
        """Let the replay run by itself: ``speed``× real time (``math.inf``: as fast as possible).

        With ``gate`` the clock runs in lockstep (``ictbot.exchange.lockstep``): after each event that sent the bot
        something it waits, at most ``gate_timeout_s`` wall seconds, until ``gate`` says the bot has reacted."""
        if speed <= 0:
            raise ValueError("speed must be positive (math.inf for as fast as possible)")
        if gate_timeout_s <= 0:
            raise ValueError("gate_timeout_s must be positive (wall seconds)")
        self.stop_clock()
        self.speed = speed
        self._clock = asyncio.create_task(self._run_clock(speed, gate, gate_timeout_s))

    def stop_clock(self) -> None:
        """Stop the replay where it is, also from inside the handling of an event: no later event of the same step
        is processed until the clock is started again, and none is lost."""
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None
        self.speed = None

    async def wait_finished(self) -> None:
        """Until the last candle has been replayed; stopping and starting the clock meanwhile (``/admin/stop_clock``,
        ``/admin/start_clock``) does not end the wait. Raises :class:`LockstepTimeout` if a lockstep clock stopped
        because the bot did not answer."""
        await self._finished.wait()
        if self.clock_error is not None:
            raise self.clock_error

    async def _run_clock(self, speed: float, gate: Gate | None, gate_timeout_s: float) -> None:
        pace = 0.0 if math.isinf(speed) else self.replay.step_ms / 1000 / speed
        try:
            if gate is not None:  # the bot listens before anything is sent
                await wait_for_bot(gate, self.delivered, gate_timeout_s)
            running = asyncio.current_task()
            while self._clock is running and (self._pending or not self.replay.finished):
                await self._step(pace, running, gate, gate_timeout_s)
        except LockstepTimeout as exc:
            self.clock_error = exc
            self._finished.set()
            raise

    async def _step(
        self, pace_s: float, running: asyncio.Task[None] | None, gate: Gate | None, gate_timeout_s: float
    ) -> None:
        """One base candle's events, paced; resumed where a stop left it. Stops as soon as the clock is stopped."""
        loop = asyncio.get_running_loop()
        resumed = bool(self._pending)
        if not resumed:
            self._pending.extend(self.replay.step())
        t0 = self.replay.now - self.replay.step_ms
        # a resumed step keeps its pace from the event it stopped before
        start = loop.time() - ((self._pending[0].time - t0) / self.replay.step_ms * pace_s if resumed else 0.0)
        while self._pending:
            if pace_s:
                delay = start + (self._pending[0].time - t0) / self.replay.step_ms * pace_s - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            event = self._pending.popleft()
            sent = self.user_events_sent
            self._process(event)
            if self._clock is not running:
                return
            if gate is not None and (isinstance(event, CandleClosed) or self.user_events_sent != sent):
                await wait_for_bot(gate, self.delivered, gate_timeout_s)
        self._end_step()
        remaining = start + pace_s - loop.time()
        await asyncio.sleep(max(remaining, 0))

    def delivered(self) -> Delivered:
        """What the bot has been sent so far (closed candles, user-stream messages) and what it listens to."""
        closed = dict(self._closed_sent)
        streams = frozenset(s for c in self.hub.connections if c.market for s in c.streams)
        users = sum(1 for c in self.hub.connections if c.listen_key)
        return Delivered(self.engine.time, closed, self.user_events_sent, streams, users)

    def _end_step(self) -> None:
        self.engine.time = self.replay.now
        self._publish_mark_array()
        if self.replay.finished:
            self._finished.set()

    def _process(self, event: MarketEvent) -> None:
        self.engine.time = event.time
        self.replay.apply(event)
        symbol = event.symbol
        if isinstance(event, Tick):
            self.engine.on_tick(symbol, event.price, event.continuous)
            if event.stage < TICKS_PER_CANDLE - 1:
                self._publish_kline(symbol, event.index, event.stage + 1)
        elif isinstance(event, CandleClosed):
            self._closed_sent[symbol] = int(self.replay.feeds[symbol].frame.open_time[event.index])
            self._publish_kline(symbol, event.index, TICKS_PER_CANDLE)
            self._publish_aggregates(symbol, event.time)
            self._publish_mark(symbol)
        elif isinstance(event, FundingDue):
            self.engine.settle_funding(symbol, event.rate)

    # ----------------------------------------------------------------------------------------------- publishing
    def _publish_kline(self, symbol: str, index: int, stage: int) -> None:
        feed = self.replay.feeds[symbol]
        stream = f"{symbol.lower()}@kline_{feed.frame.timeframe.binance}"
        k = self.replay.kline_payload(symbol, index, stage)
        self.hub.publish(stream, {"e": "kline", "E": self.engine.time, "s": symbol, "k": k})

    def _publish_aggregates(self, symbol: str, close_time: int) -> None:
        """Higher-interval kline streams, updated at each base candle close (closed when their last one closes)."""
        base = self.replay.feeds[symbol].tf_ms
        for interval, iv in INTERVAL_MS.items():
            stream = f"{symbol.lower()}@kline_{interval}"
            if iv <= base or iv % base or not self.hub.has_subscribers(stream):
                continue
            bucket = close_time // iv * iv
            rows = self.replay.klines(symbol, interval, bucket, bucket, 1)
            if not rows:
                continue
            r = rows[0]
            k = {"t": r[0], "T": r[6], "s": symbol, "i": interval, "f": -1, "L": -1}
            k.update(o=r[1], c=r[4], h=r[2], l=r[3], v=r[5], n=0, x=(close_time + 1) % iv == 0)
            k.update(q=r[7], V="0", Q="0", B="0")
            self.hub.publish(stream, {"e": "kline", "E": self.engine.time, "s": symbol, "k": k})

    def _mark_payload(self, symbol: str) -> dict[str, object]:
        feed = self.replay.feeds[symbol]
        price = fmt(feed.last_price, feed.price_places + 2)
        next_funding = self.replay.next_funding_time()
        rate = fmt(feed.funding_rate(next_funding), 8)
        return {
            "e": "markPriceUpdate",
            "E": self.engine.time,
            "s": symbol,
            "p": price,
            "ap": price,
            "i": price,
            "P": price,
            "r": rate,
            "T": next_funding,
        }

    def _publish_mark(self, symbol: str) -> None:
        payload = self._mark_payload(symbol)
        for suffix in ("@markPrice", "@markPrice@1s"):
            self.hub.publish(symbol.lower() + suffix, payload)

    def _publish_mark_array(self) -> None:
        for stream in ("!markPrice@arr", "!markPrice@arr@1s"):
            if self.hub.has_subscribers(stream):
                self.hub.publish(stream, [self._mark_payload(s) for s in self.replay.feeds])

    def _user_event(self, payload: dict[str, object]) -> None:
        self.user_events_sent += self.hub.publish_user(payload, self.wall_time())

    async def _watch_listen_keys(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.hub.expire_listen_key(self.wall_time())

    # --------------------------------------------------------------------------------------------- fault knobs
    def set_latency(self, ms: int) -> None:
        """Delay every REST answer by ``ms``."""
        self.faults.latency_ms = ms

    def set_clock_skew(self, ms: int) -> None:
        """Shift the server's request clock: clients that don't sync get -1021."""
        self.faults.clock_skew_ms = ms

    def fail_requests(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` REST requests with HTTP ``status`` (5xx) without processing them."""
        self.faults.failures.extend([status] * count)

    def unknown_status(self, executed: bool, count: int = 1) -> None:
        """Answer the next order requests with 503 -1007 (status unknown), executing them or not."""
        self.faults.unknown_status.extend([executed] * count)

    def reject_orders(self, count: int = 1, code: int = -2010) -> None:
        """Reject the next ``count`` valid orders with Binance error ``code``."""
        self.engine.reject_next.extend([code] * count)

    def partial_fills(self, ratio: float | str | None) -> None:
        """Fill each order at most ``ratio`` of its quantity per match (``None``: fill whole)."""
        self.engine.fill_ratio = None if ratio is None else Decimal(str(ratio))

    def throttle(self, count: int = 1) -> None:
        """Use up the weight budget so the next ``count`` requests get 429, and more get 418."""
        self.limiter.charge(0, self.wall_time())
        self.limiter.used_weight = self.limiter.weight_limit
        self.limiter.rejected = max(0, self.limiter.rejections_before_ban - count)

    def ban(self, seconds: float = 120) -> None:
        """Ban the IP now: every request gets 418 for ``seconds``."""
        self.limiter.ban(self.wall_time(), int(seconds * 1000))

    def lift_limits(self) -> None:
        """Clear bans and used weight."""
        self.limiter.banned_until, self.limiter.used_weight, self.limiter.rejected = 0, 0, 0

    def drop_websockets(self) -> int:
        """Cut every WebSocket connection (no close frame); returns how many were cut."""
        return self.hub.drop_all()

    def stall_websockets(self, stalled: bool = True) -> None:
        """Keep connections open but deliver nothing while stalled (events in between are lost)."""
        self.hub.stalled = stalled

    def expire_listen_key(self) -> bool:
        """Expire the listen key now: ``listenKeyExpired`` is pushed and keepalives get -1125."""
        return self.hub.expire_listen_key(self.wall_time(), force=True)

    def deposit(self, amount: float | str) -> None:
        self.engine.deposit(Decimal(str(amount)))

    def allow_withdrawals(self, enabled: bool = True) -> None:
        """The API key's withdrawal permission, as ``GET /sapi/v1/account/apiRestrictions`` reports it."""
        self.withdrawals_enabled = enabled

    # -------------------------------------------------------------------------------------------------- admin
    _ADMIN = (
        "set_latency",
        "set_clock_skew",
        "fail_requests",
        "unknown_status",
        "reject_orders",
        "partial_fills",
        "throttle",
        "ban",
        "lift_limits",
        "drop_websockets",
        "stall_websockets",
        "expire_listen_key",
        "deposit",
        "allow_withdrawals",
        "start_clock",
        "stop_clock",
    )

    async def _admin(self, request: web.Request) -> web.Response:
        """``POST /admin/<knob>`` with JSON keyword arguments, e.g. ``/admin/fail_requests {"status": 503}``."""
        action = request.match_info["action"]
        try:
            kwargs = await request.json() if request.body_exists else {}
            if action == "advance":
                result: object = await self.advance(**kwargs)
            elif action in self._ADMIN:
                if action == "start_clock" and kwargs.get("speed") == "max":
                    kwargs["speed"] = math.inf
                result = getattr(self, action)(**kwargs)
            else:
                return web.json_response({"error": f"unknown action {action}"}, status=404)
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": result})

    async def _admin_state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "now": self.replay.now,
                "finished": self.replay.finished,
                "speed": self.speed,
                "symbols": {s: fmt(f.last_price) for s, f in self.replay.feeds.items()},
                "walletBalance": fmt(self.engine.wallet),
                "latencyMs": self.faults.latency_ms,
                "clockSkewMs": self.faults.clock_skew_ms,
                "wsStalled": self.hub.stalled,
                "connections": len(self.hub.connections),
                "longestUnprotectedS": self.engine.protection.longest_s(),
            },
            dumps=json.dumps,
        )
