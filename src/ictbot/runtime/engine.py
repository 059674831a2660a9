"""The live engine: the backtest's pipeline, fed by a venue's kline stream, as supervised stages.

Stages: ``market-data`` (the kline WebSocket), ``pipeline`` (closed candles → candle book → strategy → risk gate →
broker → portfolio, with REST backfill of any gap), ``venue-check`` (the venue answers), ``heartbeat`` (readiness
every few seconds, one log line a minute). Orders go to the simulated account (paper) — the same matching rules as
the backtester — so a replay of history and a backtest of the same candles make the same trades.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from pydantic import SecretStr, ValidationError

from ictbot.config import Settings, format_validation_error
from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles
from ictbot.domain import Candle, Fill, OrderIntent, Position, Rejection, Signal, Timeframe
from ictbot.errors import ConfigError, VenueError
from ictbot.exchange.server import LocalExchange
from ictbot.execution.broker import VenueBroker
from ictbot.execution.client import VenueClient
from ictbot.execution.flatten import HALTED_PREFIX
from ictbot.execution.orders import Job, OrderManager
from ictbot.execution.reconcile import reconcile
from ictbot.execution.user_stream import AccountUpdate, AlgoUpdate, OrderUpdate, StreamReconnected, UserStream
from ictbot.kernel.clock import Clock, WallClock
from ictbot.kernel.pipeline import Broker, Pipeline
from ictbot.kernel.samples import Samples
from ictbot.portfolio.ledger import Portfolio, Trade
from ictbot.risk.daily import day_history, reducing_detail, restore_day
from ictbot.risk.gate import RiskGate, TradingState
from ictbot.runtime.control_token import control_token
from ictbot.runtime.counters import Counters
from ictbot.runtime.health import Health
from ictbot.runtime.heartbeat import HeartbeatMonitor
from ictbot.runtime.preflight import bind_api, check_data_dir, close_quietly
from ictbot.runtime.supervisor import RestartPolicy, StageContext, Supervisor
from ictbot.sample import sample_path
from ictbot.storage import EventKind, OrderState, Recorder
from ictbot.storage.journal import JOURNAL_NAME, IntentJournal
from ictbot.storage.writer import RecordWriter
from ictbot.strategy.registry import build_strategy
from ictbot.symbols import SymbolSpec
from ictbot.venues.binance import BinanceMarketData, ClosedKline, venue_connection
from ictbot.venues.simulated import SimulatedBroker

log = logging.getLogger("ictbot.engine")
BASE = Timeframe.M1
VENUE_CHECK_S = 10.0
ORDER_SYNC_S = 60.0
# How long the writer thread may keep the interpreter lock when the event loop wants it back (Python's default is
# 5 ms, more than an entry's whole budget).
SWITCH_INTERVAL_S = 0.0005


def _venue_execution(settings: Settings) -> bool:
    """Orders go to the venue in replay (the local exchange) and live mode, to the simulated account in paper mode."""
    broker = settings.execution.broker or ("simulated" if settings.mode == "paper" else "venue")
    return broker == "venue"


def check_live_opt_in(settings: Settings) -> None:
    """Live trading with real money needs keys and an explicit ``live.confirm: true``: on Binance's mainnet and on any
    server but one on this machine (a ``rest_url`` is trusted to be play money only when it is loopback)."""
    if settings.mode != "live":
        return
    venue = settings.venue
    if venue.api_key is None or venue.api_secret is None:
        raise ConfigError(
            "mode: live needs API keys: set ICTBOT_VENUE__API_KEY and ICTBOT_VENUE__API_SECRET (environment or .env)"
        )
    if settings.live.confirm:
        return
    if venue.rest_url is None and not venue.testnet:
        raise ConfigError(
            "mode: live with venue.testnet: false trades real money on Binance; set live.confirm: true to confirm, "
            "or keep venue.testnet: true (Binance's demo environment)"
        )
    if venue.rest_url is not None and not all(_loopback(url) for url in (venue.rest_url, venue.ws_url)):
        raise ConfigError(
            f"mode: live with venue.rest_url {venue.rest_url} may trade real money (only a server on this machine, "
            "127.0.0.1/localhost/::1, is taken for a test venue); set live.confirm: true to confirm"
        )


def _loopback(url: str | None) -> bool:
    """The URL's host is this machine (a loopback address or ``localhost``)."""
    host = urlsplit(url or "").hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class _Failed:
    """An exception of the immediate path, carried to the pipeline stage."""

    error: Exception


class ReplayClock:
    """Market time of an in-process replay: ``now_ms`` is the replayed time, ``sleep`` lasts market seconds."""

    def __init__(self, exchange: LocalExchange, speed: float) -> None:
        self._exchange = exchange
        self._speed = speed

    def now_ms(self) -> int:
        return int(self._exchange.replay.now)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self._speed)


class _Recording:
    """Pipeline listener that counts and records decisions and fills, writing from one thread in arrival order."""

    def __init__(self, recorder: Recorder | None, counters: Counters, latencies: Samples) -> None:
        self.pipeline: Pipeline | None = None
        self._recorder = recorder
        self._counters = counters
        self._latencies = latencies
        self.writer = RecordWriter()
        self.arrived_ns = 0
        # The simulated account: fills are recorded and order latency measured here. On the venue the order manager
        # records fills (with the venue's trade ids) and measures latency when the request leaves.
        self.simulated_broker = True

    def on_decision(self, signal: Signal, decision: OrderIntent | Rejection) -> None:
        self._counters.signal()
        if isinstance(decision, Rejection):
            self._counters.rejection(decision.reason)
            log.info(
                "signal %s %s rejected: %s (%s)", signal.symbol, signal.side.value, decision.reason, decision.detail
            )
        else:
            self._counters.order()
            if self.simulated_broker:
                self._latencies.append(time.perf_counter_ns() - self.arrived_ns)
            log.info(
                "order %s %s %s %s @ %s stop %s target %s — %s",
                decision.client_order_id,
                decision.symbol,
                decision.side.value,
                decision.quantity,
                decision.price,
                decision.stop,
                decision.target,
                signal.reason,
            )
        self.record(self._record_decision, signal, decision)

    def on_fill(self, fill: Fill) -> None:
        self._counters.fill()
        log.info("fill %s %s %s %s @ %s (%s)", fill.client_order_id, fill.symbol, fill.side.value, fill.quantity,
                 fill.price, fill.reason)  # fmt: skip
        assert self.pipeline is not None
        if self.simulated_broker:
            self.record(self._record_fill, fill, self.pipeline.last_realized)
        position = replace(self.pipeline.portfolio.position(fill.symbol))
        self.record(self._record_position, position, fill.time)
        if self.pipeline.last_closed is not None:
            self.record(self._record_trade, self.pipeline.last_closed)

    def persist(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Queue an order manager's recorder call on the writer thread, ahead of queued routine records; awaiting the
        answer waits for it to be on disk and raises its failure, never swallows it."""
        return asyncio.wrap_future(self.writer.submit(method, *args, urgent=True, **kwargs))

    def close(self) -> None:
        self.writer.close()

    def _record_position(self, position: Position, time: int) -> None:
        assert self._recorder is not None
        self._recorder.record_position(position, time)

    def _record_trade(self, trade: Trade) -> None:
        assert self._recorder is not None
        self._recorder.record_trade(trade)

    def record_cancelled(self, intents: list[OrderIntent]) -> None:
        """Simulated entries cancelled unfilled (their time ran out, or an operator closed the symbol)."""
        for intent in intents:
            self.record(self._record_cancelled, intent.client_order_id)

    def _record_cancelled(self, client_order_id: str) -> None:
        assert self._recorder is not None
        self._recorder.record_order_transition(client_order_id, OrderState.CANCELLED, {"reason": "cancelled unfilled"})

    def record(self, method: Callable[..., object], *args: object) -> None:
        """Run a recorder call on the writer thread; a no-op without a recorder."""
        if self._recorder is not None:
            self.writer.submit(_logged, method, *args)

    def _record_decision(self, signal: Signal, decision: OrderIntent | Rejection) -> None:
        assert self._recorder is not None
        self._recorder.record_signal(signal, decision)
        if not self.simulated_broker:
            return  # the order manager records the intent itself, before it sends it
        if isinstance(decision, OrderIntent):
            self._recorder.record_intent(decision)
            self._recorder.record_order_transition(decision.client_order_id, OrderState.ACKNOWLEDGED)

    def _record_fill(self, fill: Fill, realized: Decimal) -> None:
        """A simulated fill: the order it filled (an exit's intent is recorded as it happens) and the fill."""
        assert self._recorder is not None
        if fill.reason == "entry":
            self._recorder.record_order_transition(fill.client_order_id, OrderState.FILLED, at=fill.time)
        else:
            exit_id = f"{fill.client_order_id}-{fill.reason}"
            order_type = {"target": "LIMIT", "stop": "STOP_MARKET"}.get(fill.reason, "MARKET")
            purpose = {"target": "take_profit", "stop": "stop_loss"}.get(fill.reason, "exit")
            self._recorder.record_exit_intent(
                exit_id, fill.symbol, fill.side, order_type, purpose=purpose, quantity=fill.quantity,
                parent_client_order_id=fill.client_order_id, at=fill.time,
            )  # fmt: skip
            fill = replace(fill, client_order_id=exit_id)
            self._recorder.record_order_transition(exit_id, OrderState.FILLED, at=fill.time)
        self._recorder.record_fill(fill, realized_pnl=realized)


def _logged(method: Callable[..., object], *args: object) -> None:
    try:
        method(*args)
    except Exception:
        log.exception("recording %s failed; trading continues", getattr(method, "__name__", method))


Service = Callable[["Engine", RestartPolicy], None]
"""An optional service (the HTTP API and its notifications): registers its stages and listeners on a built engine,
with the engine's restart policy. The composition passes them in, so the engine knows no service's package."""


class Engine:
    """One bot: settings → venue → supervised pipeline. ``run`` returns after ``stop`` is set, cleanly."""

    def __init__(
        self,
        settings: Settings,
        recorder: Recorder | None = None,
        restart: RestartPolicy | None = None,
        wall: Clock | None = None,
        services: Sequence[Service] = (),
    ) -> None:
        if settings.mode == "backtest":
            raise ConfigError("mode: backtest runs with `ictbot backtest`; `ictbot run` needs replay, paper or live")
        check_live_opt_in(settings)
        if _venue_execution(settings) and recorder is None:
            raise ConfigError(
                "orders on the venue are recorded before they are sent: run with a database (database_url), or set "
                "execution.broker: simulated"
            )
        self.settings = settings
        self.recorder = recorder
        self._restart = restart
        self._services = tuple(services)
        self.counters = Counters()
        self.latencies = Samples(10_000)  # closed kline arrival → entry request written to the socket (ns)
        self.processing = Samples(10_000)  # closed kline arrival → pipeline done with it (ns)
        self.exchange: LocalExchange | None = None
        self.venue: VenueClient | None = None
        self.orders: OrderManager | None = None
        self.journal: IntentJournal | None = None
        self._ws_url = ""
        self._reconcile_soon = asyncio.Event()
        # Why the engine itself halted trading ("reconciliation", "stage:<name>"); it resumes once none is left.
        self._auto_halts: dict[str, str] = {}
        self._pipeline_beat: Callable[[], None] = lambda: None
        self.venue_latencies = Samples(1000, np.float64)  # seconds per venue check call
        self.market: BinanceMarketData | None = None
        self.pipeline: Pipeline | None = None
        self.health: Health | None = None
        self.supervisor: Supervisor | None = None
        self.clock: Clock = WallClock()  # the market's clock (replay time in a replay)
        self.wall: Clock = (
            wall if wall is not None else WallClock()
        )  # restart backoff: real seconds, whatever the speed
        self.monitor: HeartbeatMonitor | None = None
        self.api_url: str | None = None  # set by the API stage once it listens
        self.api_socket: socket.socket | None = None  # bound at startup, handed to the API stage's first run
        self.control_token: SecretStr | None = None  # api.token, or the one kept in <data_dir>/control-token
        self.started_ms = 0
        self.ready = asyncio.Event()
        self._recording = _Recording(recorder, self.counters, self.latencies)
        self._last_equity_time = -1
        self._stage_running = False
        self._stage_busy = False
        self._quiet_turn = False  # the writer holds routine records for the klines of this event-loop turn
        self._stop = asyncio.Event()
        self._replay_start_ms = 0

    def replay_progress(self) -> dict[str, Any] | None:
        """How far a replay has got: market time, % of the replayed history done, wall seconds left at this speed."""
        if self.exchange is None:
            return None
        replay, speed = self.exchange.replay, self.settings.replay.speed
        now, span = int(replay.now), max(1, replay.end - self._replay_start_ms)
        done = min(100.0, max(0.0, 100 * (now - self._replay_start_ms) / span))
        return {
            "market_time": iso(now),
            "progress_pct": round(done, 1),
            "eta_seconds": round(max(0, replay.end - now) / 1000 / speed, 1),
            "speed": speed,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set — or, in replay mode with ``replay.stop_at_end``, until the replayed history has
        been traded to its end."""
        self._stop = stop
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            await self._start()
            await stop.wait()
        finally:
            await self._shutdown()
            sys.setswitchinterval(switch_interval)

    async def records_written(self) -> None:
        """Wait until every record queued so far is in the database, so that it and the engine tell one story."""
        await asyncio.wrap_future(self._recording.writer.submit(lambda: None))

    async def _start(self) -> None:
        s = self.settings
        check_data_dir(s.data_dir)
        if s.api.enabled:
            self.control_token = control_token(s)
            self.api_socket = bind_api(s.api.host, s.api.port)
        if s.mode == "replay":
            frames = [load_candles(path) for path in (s.replay.data or [sample_path()])]
            balance = Decimal(str(s.backtest.initial_equity_usdt))
            self.exchange = await LocalExchange(frames, warmup=s.replay.warmup, balance=balance).start()
            self.clock = ReplayClock(self.exchange, s.replay.speed)
            self._replay_start_ms = int(self.exchange.replay.now)
            config = self.exchange.ccxt_config()
            self._ws_url = self.exchange.ws_url
            log.info("local exchange replaying %s on %s", ", ".join(f.symbol or "?" for f in frames),
                     self.exchange.rest_url)  # fmt: skip
        else:
            connection = venue_connection(s)
            config, self._ws_url = connection.config, connection.ws_url
        demo = s.mode != "replay" and s.venue.rest_url is None and s.venue.testnet
        self.market = BinanceMarketData(config, demo=demo)
        specs = await self._check_symbols(await self.market.load_markets())
        if _venue_execution(s):
            await self._start_execution(config, demo)
        self.pipeline = self._build_pipeline(specs)
        self._restore_trading_state()
        self._build_supervision()
        await self._warm_up()
        assert self.health is not None
        self.health.mark_venue_ok(self.clock.now_ms())  # markets and the warm-up candles just came from it
        if self.orders is not None:
            await self._reconcile(apply_fills=False)
            if s.mode == "live":
                await self._restore_day()
        if self.recorder is not None:
            self._recording.record(partial(self.recorder.start_run, market_clock=self.clock.now_ms), s)
        self.started_ms = self.clock.now_ms()
        await self.supervisor.start()
        self.market.take_now = self._take_now
        if self.exchange is not None:
            self.exchange.start_clock(s.replay.speed)
        log.info(
            "running %s on %s (%s), strategy %s on %s; heartbeat every minute",
            s.mode, ", ".join(s.symbols), "local exchange" if self.exchange else "Binance", s.strategy.name,
            ", ".join(tf.value for tf in sorted(s.timeframes, key=lambda t: t.ms)),
        )  # fmt: skip
        self.ready.set()

    async def _start_execution(self, config: dict[str, Any], demo: bool) -> None:
        """Connect the order client and set the account up as configured: one-way mode, isolated margin, leverage."""
        s = self.settings
        assert self.recorder is not None
        self.venue = VenueClient(config, demo=demo, order_line=True)
        await self.venue.start()
        await self.venue.ensure_one_way_mode()
        for symbol in s.symbols:
            await self.venue.configure_symbol(symbol, leverage=s.risk.leverage, isolated=True)
        if s.mode == "live":
            await self._warn_withdrawal_permission()
        self._recording.simulated_broker = False
        self.journal = IntentJournal(s.data_dir / JOURNAL_NAME)
        await self._recording.persist(self.journal.restore, self.recorder)
        self.orders = OrderManager(
            self.venue, self.recorder, self._recording.persist, self._venue_fill, self.journal,
            candle_ms=BASE.ms, settle_s=s.execution.unknown_order_settle_s, on_sent=self._entry_sent,
            now_ms=lambda: self.clock.now_ms(), max_unprotected_s=s.execution.max_unprotected_s,
        )  # fmt: skip
        self.orders.send_latencies = self.latencies
        log.info("orders go to the venue (one-way mode, isolated margin, leverage %dx)", s.risk.leverage)

    async def _warn_withdrawal_permission(self) -> None:
        """A trading bot's key never needs to withdraw; say so loudly when it can (Binance's API restrictions)."""
        assert self.venue is not None
        try:
            restrictions = await self.venue.exchange.sapi_get_account_apirestrictions()
        except Exception as exc:  # the check is advisory: an unreadable answer must not stop trading
            log.warning("could not read the API key's permissions (%s); make sure it cannot withdraw", exc)
            return
        if restrictions.get("enableWithdrawals"):
            log.warning(
                "!!! THIS API KEY CAN WITHDRAW FUNDS. A trading bot never needs that: create a key with futures "
                "trading only, and restrict it to this machine's IP address. !!!"
            )

    def _entry_sent(self) -> None:
        """An entry's request is on the socket (or could not be sent): the other symbols' klines held back while it
        left go ahead."""
        assert self.market is not None
        self.market.release()

    def _venue_fill(self, fill: Fill) -> None:
        assert self.pipeline is not None
        self.pipeline.apply_fill(fill)

    async def _reconcile(self, *, apply_fills: bool) -> bool:
        """Compare with the venue and repair; trading runs only while the last reconciliation succeeded."""
        assert self.orders is not None and self.pipeline is not None and self.health is not None
        try:
            report = await reconcile(self.orders, self.settings.symbols, apply_fills=apply_fills)
        except VenueError as exc:
            problem = f"reconciliation failed: {exc}"
        else:
            self.pipeline.portfolio.adopt(report.wallet, report.positions, self.clock.now_ms())
            problem = "" if report.ok else "reconciliation: " + "; ".join(report.problems)
            log.log(logging.INFO if report.ok else logging.ERROR, "reconciled with the venue: %s", report.summary())
            if self.recorder is not None:
                self._recording.record(self.recorder.record_event, EventKind.RECONCILIATION, report.summary())
        if problem:
            self.health.mark_unreconciled(problem)
            self._auto_halt("reconciliation", problem)
            log.error("trading HALTED until reconciliation succeeds: %s", problem)
            return False
        self.health.mark_reconciled(self.clock.now_ms())
        self._lift_auto_halt("reconciliation", "reconciliation succeeded")
        return True

    def _auto_halt(self, cause: str, reason: str) -> None:
        """Halt for ``cause`` unless an operator already halted (their halt is theirs to lift)."""
        gate = self._require_pipeline().gate
        if gate.state is TradingState.HALTED and not self._auto_halts:
            return
        if gate.state is not TradingState.HALTED:
            gate.halt(reason)
        self._auto_halts[cause] = reason

    def _lift_auto_halt(self, cause: str, why: str) -> None:
        """Trading resumes only when every cause of the engine's halt is gone: never while a critical stage fails."""
        if self._auto_halts.pop(cause, None) is None:
            return
        if self._auto_halts:
            log.warning("%s; trading stays HALTED: %s", why, "; ".join(self._auto_halts.values()))
            return
        self._require_pipeline().gate.resume()
        log.warning("%s; trading resumed", why)

    async def _execution_stage(self, ctx: StageContext) -> None:
        """Order jobs, each in its own task, started as they come: a symbol's jobs take turns on its lock, symbols
        never wait for each other. A failed job is logged and settled by a reconciliation at once."""
        assert self.orders is not None
        orders = self.orders
        orders.run_job = self._run_job
        try:
            while True:  # jobs queued while this stage was down, and the stage's heartbeat
                try:
                    job = await asyncio.wait_for(orders.jobs.get(), timeout=1.0)
                except TimeoutError:
                    ctx.beat()
                    continue
                ctx.beat()
                orders.start(job)
        finally:
            orders.run_job = None
            for task in orders.tasks:
                task.cancel()
            await asyncio.gather(*orders.tasks, return_exceptions=True)

    async def _run_job(self, job: Job) -> None:
        try:
            await job()
        except VenueError as exc:
            log.error("order job failed (%s); reconciling with the venue", exc)
            self._reconcile_soon.set()
        except Exception:
            log.exception("order job crashed; reconciling with the venue")
            self._reconcile_soon.set()

    async def _user_stream_stage(self, ctx: StageContext) -> None:
        """The account's events: fills and order states as they happen; after any reconnect, a reconciliation.
        Its reconnect backoff and listen-key keepalive run on the wall clock, as the supervisor's backoff does."""
        assert self.venue is not None and self.orders is not None
        stream = UserStream(self.venue, self._ws_url, beat=ctx.beat, sleep=self.wall.sleep)
        async for event in stream.events():
            ctx.beat()
            if isinstance(event, OrderUpdate):
                await self.orders.on_order_update(event)
            elif isinstance(event, AlgoUpdate):
                await self.orders.on_algo_update(event)
            elif isinstance(event, AccountUpdate) and event.reason == "FUNDING_FEE":
                self._book_funding(event)
            elif isinstance(event, StreamReconnected):
                log.warning("user-data stream reconnected (%s); reconciling", event.reason)
                await self._reconcile(apply_fills=True)

    def _book_funding(self, event: AccountUpdate) -> None:
        """The venue's funding settlement into the account and the database (one symbol per event here)."""
        assert self.pipeline is not None
        amount = sum((b.change for b in event.balances if b.asset == "USDT"), Decimal(0))
        symbols = [p.symbol for p in event.positions] or [""]
        self.pipeline.portfolio.book_funding(symbols[0], amount)
        log.info("funding %s USDT on %s", amount, ", ".join(symbols))
        if self.recorder is not None:
            self._recording.record(self.recorder.record_funding, symbols[0], event.time, amount)

    async def _order_sync_stage(self, ctx: StageContext) -> None:
        """Reconcile every ``ORDER_SYNC_S`` wall seconds (and at once after a failed order job): drift never lasts."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconcile_soon.wait(), timeout=ORDER_SYNC_S)
            self._reconcile_soon.clear()
            await self._reconcile(apply_fills=True)
            ctx.beat()

    @property
    def auto_halts(self) -> tuple[str, ...]:
        """Why the engine itself holds trading halted now (``reconciliation``, ``stage:<name>``)."""
        return tuple(self._auto_halts)

    @property
    def _speed(self) -> float:
        """Market seconds per wall second."""
        return self.settings.replay.speed if self.exchange is not None else 1.0

    def _build_supervision(self) -> None:
        """Stages, readiness and the heartbeat, all on the market clock. ``scale`` keeps wall-clock cadences (one
        heartbeat line a minute, a venue check every 10 s) when a replay runs faster than real time; restart backoff
        runs on the wall clock itself."""
        s = self.settings
        streams = [(symbol, tf) for symbol in s.symbols for tf in sorted({BASE, *s.timeframes}, key=lambda t: t.ms)]
        scale = self._speed
        venue_every_s = VENUE_CHECK_S * scale
        self.supervisor = Supervisor(
            self.clock,
            wall=self.wall,
            counters=self.counters,
            on_escalate=self._escalate,
            on_crash=self._crashed,
            on_recover=self._recovered,
        )
        self.health = Health(self.supervisor, streams, venue_timeout_s=3 * venue_every_s)
        if self.orders is None:
            self.health.mark_reconciled(self.clock.now_ms())  # the simulated account has nothing to reconcile
        restart = self._restart or RestartPolicy()
        candle_s = BASE.ms / 1000
        idle_beat_s = max(3 * candle_s, 5 * scale)  # idle stages beat once a wall second, however fast a replay
        self.supervisor.add("market-data", self._stream_stage, restart=restart, beat_timeout_s=3 * candle_s)
        self.supervisor.add("pipeline", self._pipeline_stage, restart=restart, beat_timeout_s=idle_beat_s)
        self.supervisor.add("venue-check", self._venue_stage, restart=restart, beat_timeout_s=3 * venue_every_s)
        # readiness is re-judged every half candle, but at most 20 times a wall second: a fast replay's heartbeat
        # would otherwise re-judge it thousands of times a second and take the event loop from the bot
        check_s = max(min(5 * scale, candle_s / 2), scale / 20)
        self.monitor = HeartbeatMonitor(
            self.health, self.counters, line_interval_s=60 * scale, check_interval_s=check_s,
            progress=self.replay_progress,
        )  # fmt: skip
        self.supervisor.add("heartbeat", self.monitor.run, restart=restart, beat_timeout_s=3 * check_s)
        if self.orders is not None:
            self.supervisor.add("execution", self._execution_stage, restart=restart, beat_timeout_s=idle_beat_s)
            self.supervisor.add("user-stream", self._user_stream_stage, restart=restart, beat_timeout_s=math.inf)
            self.supervisor.add(
                "order-sync", self._order_sync_stage, restart=restart, beat_timeout_s=3 * ORDER_SYNC_S * scale
            )
        if self.exchange is not None and s.replay.stop_at_end:
            self.supervisor.add(
                "replay-end", self._replay_end_stage, critical=False, restart=restart, beat_timeout_s=math.inf
            )
        for attach in self._services:
            attach(self, restart)

    async def _check_symbols(self, venue_specs: dict[str, SymbolSpec]) -> dict[str, SymbolSpec]:
        """Every configured symbol must trade on the venue, and its minimum order must fit the risk cap."""
        s = self.settings
        unknown = [symbol for symbol in s.symbols if symbol not in venue_specs]
        if unknown:
            raise ConfigError(
                f"symbols: {', '.join(unknown)} not traded on the venue (USDT-M perpetuals); "
                f"check the spelling, e.g. {', '.join(sorted(venue_specs)[:5])}"
            )
        cap = Decimal(str(s.risk.max_notional_usdt))
        assert self.market is not None
        for symbol in s.symbols:
            spec = venue_specs[symbol]
            [last] = (await self.market.closed_candles(symbol, BASE, None, 2))[-1:] or [None]
            price = Decimal(str(last.close)) if last else Decimal(0)
            smallest = max(spec.min_notional, spec.min_qty * price)
            if cap < smallest:
                raise ConfigError(
                    f"risk.max_position_margin_usdt × risk.leverage = {cap} USDT cannot buy the smallest {symbol} "
                    f"order ({smallest:.2f} USDT at {price}); raise the margin or leverage, or remove {symbol} from "
                    "symbols"
                )
        return {symbol: venue_specs[symbol] for symbol in s.symbols}

    def _build_pipeline(self, specs: dict[str, SymbolSpec]) -> Pipeline:
        s = self.settings
        bt = s.backtest
        broker: Broker = (
            VenueBroker(self.orders, lambda: self._recording.arrived_ns)
            if self.orders is not None
            else SimulatedBroker(
                specs, bt.maker_fee_rate, bt.taker_fee_rate, bt.slippage_ticks, BASE.ms, s.risk.leverage
            )
        )
        portfolio = Portfolio(Decimal(str(bt.initial_equity_usdt)), keep_history=False)
        pipeline = Pipeline(
            s.symbols,
            BASE,
            build_strategy(s.strategy),
            RiskGate(s.risk, specs, keep_history=False),
            broker,
            portfolio,
            keep_history=False,
        )
        pipeline.listeners.append(self._recording)
        pipeline.gate.on_reducing = self._reducing
        self._recording.pipeline = pipeline
        return pipeline

    async def _warm_up(self) -> None:
        """Closed history through the candle book and the strategy (no trading), so detectors start informed."""
        assert self.market is not None and self.pipeline is not None
        limit = self.settings.replay.warmup if self.exchange else 1000
        for symbol in self.settings.symbols:
            candles = await self.market.closed_candles(symbol, BASE, None, limit)
            for candle in candles:
                self.pipeline.warm_up(symbol, candle)
            self._mark_fresh(symbol)
            log.info("%s: warmed up on %d closed %s candles", symbol, len(candles), BASE)

    def _mark_fresh(self, symbol: str) -> None:
        """Tell readiness about the newest closed candle of every stream of ``symbol`` the book holds."""
        assert self.pipeline is not None and self.health is not None
        now = self.clock.now_ms()
        for tf in {BASE, *self.settings.timeframes}:
            closed = self.pipeline.book.closed(symbol, tf)
            if closed.shape[1]:
                self.health.mark_candle(symbol, tf, int(closed[0, -1]), now)

    async def _stream_stage(self, ctx: StageContext) -> None:
        assert self.market is not None
        self.market.closed.put_nowait(None)  # wakes the pipeline stage, which then checks for a gap
        await self.market.stream(self.settings.symbols, BASE, ctx.beat)

    async def _pipeline_stage(self, ctx: StageContext) -> None:
        """Queued klines: those after a gap (backfilled first), those that came while this stage was busy or down,
        and failures of the immediate path, re-raised here so the supervisor sees them."""
        assert self.market is not None and self.pipeline is not None
        self._stage_running = True
        self._pipeline_beat = ctx.beat
        try:
            while True:
                try:
                    item = await asyncio.wait_for(self.market.closed.get(), timeout=1.0)
                except TimeoutError:  # nothing arrived: still alive; a stale stream shows in readiness instead
                    ctx.beat()
                    continue
                ctx.beat()
                if isinstance(item, _Failed):
                    raise item.error
                if item is None:
                    continue
                self._stage_busy = True
                await self._backfill_gap(item)
                self._process(item.symbol, item.candle, item.arrived_ns)
                self._stage_busy = False
        finally:
            self._stage_running = self._stage_busy = False

    def _take_now(self, kline: ClosedKline) -> bool:
        """Process a closed kline inside the WebSocket handler, so it never waits behind other symbols' messages.

        Declined (left to the pipeline stage) when that stage is down or busy, something is already queued (order
        must hold), or the kline follows a gap (REST backfill first)."""
        assert self.market is not None and self.pipeline is not None
        if not self._stage_running or self._stage_busy or not self.market.closed.empty():
            return False
        if not self._quiet_turn:  # routine records wait until this turn's klines (and their entries) are done
            self._quiet_turn = True
            self._recording.writer.quiet()
            asyncio.get_running_loop().call_soon(self._end_quiet_turn)
        last = self.pipeline.book.last_open_time(kline.symbol)
        if last is not None and kline.candle.open_time > last + BASE.ms:
            return False
        try:
            self._process(kline.symbol, kline.candle, kline.arrived_ns)
        except Exception as exc:  # handed to the pipeline stage, whose crash the supervisor handles
            self.market.closed.put_nowait(_Failed(exc))
        else:
            self._pipeline_beat()  # the stage's work, done on its behalf
        if self.orders is not None and self.orders.leaving:
            self.market.hold()  # orders before data: the rest of this burst waits until the entry's request is out
        return True

    def _end_quiet_turn(self) -> None:
        self._quiet_turn = False
        self._recording.writer.resume()

    async def _backfill_gap(self, kline: ClosedKline) -> None:
        """Fetch by REST any base candle missed before this one (a reconnect, a stall), oldest first."""
        assert self.market is not None and self.pipeline is not None
        last = self.pipeline.book.last_open_time(kline.symbol)
        if last is None or kline.candle.open_time <= last + BASE.ms:
            return
        missed = (kline.candle.open_time - last) // BASE.ms - 1
        # Exactly the missed candles: Binance (and ccxt's throttle) weigh a klines request by its limit, so asking
        # for a full page after a one-candle gap would cost ten times the weight and hold the next symbol's backfill.
        missing = await self.market.closed_candles(kline.symbol, BASE, last + BASE.ms, missed)
        recovered = [c for c in missing if last < c.open_time < kline.candle.open_time]
        log.warning(
            "%s: %d candle(s) missed before %s, %d recovered by REST",
            kline.symbol,
            missed,
            iso(kline.candle.open_time),
            len(recovered),
        )
        for candle in recovered:
            self._process(kline.symbol, candle, time.perf_counter_ns())

    def _process(self, symbol: str, candle: Candle, arrived_ns: int) -> None:
        assert self.pipeline is not None and self.health is not None
        self._recording.arrived_ns = arrived_ns
        closed = self.pipeline.on_base_candle(symbol, candle)
        self._note_cancelled()
        if not closed:
            return
        self.processing.append(time.perf_counter_ns() - arrived_ns)
        now = self.clock.now_ms()
        entry = self.settings.strategy.entry_timeframe
        for tf, closed_candle in closed:
            self.counters.candle(symbol, tf)
            self.health.mark_candle(symbol, tf, closed_candle.open_time, now)
            if tf is entry:
                log.info("%s %s candle %s closed at %s", symbol, tf, iso(closed_candle.open_time), closed_candle.close)
        if candle.open_time != self._last_equity_time and self.recorder is not None:
            self._last_equity_time = candle.open_time
            self._recording.record(self.recorder.record_equity, candle.open_time + BASE.ms, self.pipeline.equity())

    async def _replay_end_stage(self, ctx: StageContext) -> None:
        """Stop the bot once the replay has delivered its last candle and the pipeline has taken it."""
        assert self.exchange is not None and self.market is not None and self.pipeline is not None
        while not self.exchange.replay.finished:
            await asyncio.sleep(0.5)
            ctx.beat()
        last = {symbol: int(feed.frame.open_time[-1]) for symbol, feed in self.exchange.replay.feeds.items()}
        while any(self.pipeline.book.last_open_time(symbol) != t for symbol, t in last.items()):
            await asyncio.sleep(0.1)
        log.info("replay finished: every candle of the replayed history has been traded; stopping")
        self._stop.set()
        await asyncio.Event().wait()

    async def _venue_stage(self, ctx: StageContext) -> None:
        assert self.market is not None and self.health is not None
        symbol = self.settings.symbols[0]
        while True:
            try:
                started = time.perf_counter()
                await self.market.market_time(symbol)
                self.venue_latencies.append(time.perf_counter() - started)
                self.health.mark_venue_ok(self.clock.now_ms())
            except Exception as exc:  # any failure to reach the venue is what this check reports
                self.health.mark_venue_error(self.clock.now_ms(), str(exc))
                log.warning("venue unreachable: %s", exc)
            ctx.beat()
            await self.clock.sleep(VENUE_CHECK_S * self._speed)

    # control: the API and the CLI steer the bot only through these; each action is logged and recorded

    async def pause_entries(self, source: str) -> None:
        """No new entries until ``resume_entries``; open positions keep their stops and targets."""
        self._require_pipeline().gate.halt(f"entries paused by {source}")
        self._auto_halts.clear()  # the operator's halt now: only they lift it
        self._control("pause", source)
        self._record_trading_state(f"{HALTED_PREFIX}: entries paused by {source}", source)

    async def resume_entries(self, source: str) -> None:
        """Trade again; refused while a critical stage keeps crashing (the bot could not trade safely)."""
        pipeline = self._require_pipeline()
        failing = self.failing_critical_stages()
        if failing:
            raise ConfigError(
                f"cannot resume: stage {', '.join(failing)} keeps crashing; trading resumes by itself once it runs"
            )
        pipeline.gate.resume()
        self._auto_halts.clear()
        self._control("resume", source)
        self._record_trading_state(TradingState.ACTIVE.value, source)

    async def close_position(self, symbol: str, source: str) -> list[Fill]:
        """Cancel ``symbol``'s resting orders and close its position at market; returns the closing fills."""
        self._require_pipeline()
        if symbol not in self.settings.symbols:
            raise ConfigError(f"{symbol} is not traded by this bot; it trades {', '.join(self.settings.symbols)}")
        self._control("close_position", source, symbol)
        return await self._close_now(symbol, f"closed by {source}")

    async def flatten(self, source: str) -> list[Fill]:
        """The kill switch: cancel every order, close every position at market, then HALT trading."""
        pipeline = self._require_pipeline()
        pipeline.gate.halt(f"flattened by {source}")
        self._auto_halts.clear()
        self._control("flatten", source, "trading HALTED")
        self._record_trading_state(f"{HALTED_PREFIX}: flattened by {source}", source)
        fills: list[Fill] = []
        for symbol in self.settings.symbols:
            fills += await self._close_now(symbol, f"flatten by {source}")
        return fills

    async def reload_strategy(self, params: dict[str, object], source: str) -> None:
        """Apply new strategy parameters; the strategy is rebuilt and re-learns from the candles the book holds.

        Parameters that change the timeframes are refused: the candle book is built for the running set."""
        pipeline = self._require_pipeline()
        current = self.settings.strategy
        try:
            updated = type(current).model_validate({**current.model_dump(), **params})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, None)) from None
        if updated.timeframes != current.timeframes:
            raise ConfigError("changing the strategy's timeframes needs a restart: the candle book is built for them")
        strategy = build_strategy(updated)
        for symbol in self.settings.symbols:
            for timeframe, candle in pipeline.book.history(symbol, current.timeframes):
                strategy.on_candle(symbol, timeframe, candle)
        pipeline.strategy = strategy
        self.settings = self.settings.model_copy(update={"strategy": updated})
        self._control("reload_strategy", source, ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())))

    async def _close_now(self, symbol: str, reason: str) -> list[Fill]:
        """Cancel ``symbol``'s orders and close its position at market. On the venue the closing fills arrive as
        events (none are returned); the simulated account closes at the latest mark at once."""
        pipeline = self._require_pipeline()
        if self.orders is not None:
            return await self.orders.close_symbol(symbol, reason, self.clock.now_ms())
        mark = pipeline.marks.get(symbol)
        if mark is None:
            return []
        fills = pipeline.broker.close_now(symbol, Decimal(str(mark)), self.clock.now_ms())
        self._note_cancelled()
        for fill in fills:
            pipeline.apply_fill(fill)
        return fills

    def _note_cancelled(self) -> None:
        assert self.pipeline is not None
        cancelled = self.pipeline.broker.take_cancelled()
        if cancelled:
            self._recording.record_cancelled(cancelled)

    def _control(self, action: str, source: str, detail: str = "") -> None:
        log.warning("control %s by %s%s", action, source, f": {detail}" if detail else "")
        if self.recorder is not None:
            self._recording.record(self.recorder.record_event, EventKind.CONTROL, f"{action} {detail}".strip(), source)

    def _record_trading_state(self, state: str, source: str) -> None:
        """An operator's halt outlives the process: the next start reads it back (``_restore_trading_state``)."""
        if self.recorder is not None:
            self._recording.record(self.recorder.record_event, EventKind.TRADING_STATE, state, source)

    def _restore_trading_state(self) -> None:
        assert self.pipeline is not None
        if self.recorder is None:
            return
        last = self.recorder.events(kind=EventKind.TRADING_STATE, limit=1)
        if last and last[0].detail.startswith(HALTED_PREFIX):
            self.pipeline.gate.halt(f"{last[0].detail} (before this start); resume through the API when ready")
            log.warning("trading starts HALTED: %s; POST /api/control/resume to trade again", last[0].detail)

    def failing_critical_stages(self) -> list[str]:
        """Critical stages that keep crashing: the bot is not alive as a trading bot while any is listed."""
        if self.supervisor is None:
            return []
        return [st.name for st in self.supervisor.statuses(self.clock.now_ms()) if st.critical and st.failing]

    async def _restore_day(self) -> None:
        """The daily loss limit carries on from the account's history of today, and a REDUCING state reached today
        holds (the account outlives the process in live mode)."""
        assert self.pipeline is not None and self.recorder is not None and self.market is not None
        pipeline, now = self.pipeline, self.clock.now_ms()
        history = day_history(self.recorder, now, self.settings.symbols)
        marks = {}
        for symbol in history.held_at_open:
            [candle] = await self.market.closed_candles(symbol, BASE, history.start_ms, 1) or [None]
            marks[symbol] = Decimal(str(candle.open)) if candle is not None else history.held_at_open[symbol][1]
        opening = restore_day(pipeline, history, marks)
        log.info("today's opening equity from the account's history: %s USDT", opening)
        if pipeline.gate.state is TradingState.REDUCING:
            log.warning("trading starts REDUCING (daily loss limit reached earlier today): %s", history.reducing)

    def _reducing(self, reason: str, day: int) -> None:
        """The daily loss limit was reached: recorded, so a restart today keeps taking no entries."""
        self._record_trading_state(reducing_detail(reason), "risk")

    def _require_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            raise ConfigError("the bot is still starting; try again once it runs")
        return self.pipeline

    def _crashed(self, name: str, exc: BaseException) -> None:
        if self.recorder is not None:
            self._recording.record(self.recorder.record_event, EventKind.TASK_CRASH, f"{name}: {exc!r}", name)

    def _escalate(self, name: str, exc: BaseException) -> None:
        """A critical stage that keeps crashing halts trading until it runs again; a non-critical one (the API, the
        notifier) is reported in readiness, the log and a notification, and trading goes on."""
        assert self.supervisor is not None
        critical = name in {st.name for st in self.supervisor.statuses(self.clock.now_ms()) if st.critical}
        if not critical:
            log.error("stage %s keeps crashing (%s); still restarting it, trading goes on", name, exc)
            return
        self._auto_halt(f"stage:{name}", f"stage {name} keeps crashing: {exc}")
        log.error("trading HALTED: stage %s keeps crashing (%s); still restarting it", name, exc)

    def _recovered(self, name: str) -> None:
        self._lift_auto_halt(f"stage:{name}", f"stage {name} recovered")

    async def _shutdown(self) -> None:
        if self.supervisor is not None:
            await self.supervisor.stop()
        if self.market is not None:
            await self.market.close()
        if self.venue is not None:
            await self.venue.close()
        if self.exchange is not None:
            await self.exchange.stop()
        close_quietly(self.api_socket)
        if self.recorder is not None:
            self._recording.record(self.recorder.stop_run, "stopped")
        self._recording.close()
        if self.journal is not None:
            self.journal.close()
        log.info("stopped cleanly")
