"""The live engine: the kernel's pipeline, fed by a market source's kline stream, as supervised stages.

It is built from injected ports (``runtime/ports.py``): a ``MarketSource`` (a replay on the local exchange, or
Binance) that brings candles, an ``Execution`` (the simulated account, or the venue's order manager) that the
pipeline's orders go to, and two clocks: the market clock (replayed time in a replay) that every stage, deadline and
readiness judgement reads, and the wall clock of restart backoff and the order manager's waits. ``ictbot.compose``
picks them from the settings; this module only puts them together: start-up, supervision, stage crashes and halts,
shutdown.

Stages: ``market-data`` and ``pipeline`` (``candle_feed``), ``venue-check`` (the venue answers), ``heartbeat``
(readiness every few seconds, one log line a minute), the execution's own stages and, in a replay that stops at its
end, ``replay-end``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import SecretStr

from ictbot.config import Settings
from ictbot.domain import Timeframe
from ictbot.kernel.clock import Clock
from ictbot.kernel.pipeline import Pipeline
from ictbot.kernel.samples import Samples
from ictbot.portfolio.ledger import Portfolio
from ictbot.risk.daily import reducing_detail
from ictbot.risk.gate import RiskGate
from ictbot.runtime.candle_feed import CandleFeed
from ictbot.runtime.control_token import control_token
from ictbot.runtime.controls import Controls
from ictbot.runtime.counters import Counters
from ictbot.runtime.halts import AutoHalts
from ictbot.runtime.health import Health
from ictbot.runtime.heartbeat import HeartbeatMonitor
from ictbot.runtime.ports import Execution, MarketSource
from ictbot.runtime.preflight import bind_api, check_data_dir, close_quietly
from ictbot.runtime.recording import Recording
from ictbot.runtime.safety import check_symbols
from ictbot.runtime.supervisor import RestartPolicy, StageContext, Supervisor
from ictbot.storage import EventKind, Recorder
from ictbot.strategy.registry import build_strategy
from ictbot.symbols import SymbolSpec
from ictbot.venues.binance import BinanceMarketData

log = logging.getLogger("ictbot.engine")
BASE = Timeframe.M1
VENUE_CHECK_S = 10.0
# How long the writer thread may keep the interpreter lock when the event loop wants it back (Python's default is
# 5 ms, more than an entry's whole budget).
SWITCH_INTERVAL_S = 0.0005

Service = Callable[["Engine", RestartPolicy], None]
"""An optional service (the HTTP API and its notifications): registers its stages and listeners on a built engine,
with the engine's restart policy. The composition passes them in, so the engine knows no service's package."""


class Engine(Controls):
    """One bot: a market source and an execution → supervised pipeline, on the clocks it is given. ``run`` returns
    after ``stop`` is set."""

    def __init__(
        self,
        settings: Settings,
        source: MarketSource,
        execution: Execution,
        recorder: Recorder | None = None,
        restart: RestartPolicy | None = None,
        *,
        clock: Clock,
        wall: Clock,
        services: Sequence[Service] = (),
    ) -> None:
        self.settings = settings
        self.clock = clock  # the market's time: stages, deadlines, readiness (replayed time in a replay)
        self.wall = wall  # restart backoff, the order manager's and order lines' waits: real seconds, any speed
        self.source = source
        self.execution = execution
        self.recorder = recorder
        self._restart = restart
        self._services = tuple(services)
        self.counters = Counters()
        self.latencies = Samples(10_000)  # closed kline arrival → entry request written to the socket (ns)
        self.processing = Samples(10_000)  # closed kline arrival → pipeline done with it (ns)
        self.venue_latencies = Samples(1000, np.float64)  # seconds per venue check call
        self.market: BinanceMarketData | None = None
        self.pipeline: Pipeline | None = None
        self.health: Health | None = None
        self.supervisor: Supervisor | None = None
        self.monitor: HeartbeatMonitor | None = None
        self.api_url: str | None = None  # set by the API stage once it listens
        self.api_socket: socket.socket | None = None  # bound at startup, handed to the API stage's first run
        self.control_token: SecretStr | None = None  # api.token, or the one kept in <data_dir>/control-token
        self.started_ms = 0
        self.ready = asyncio.Event()
        self.recording = Recording(recorder, self.counters, self.latencies)
        self.recording.simulated_broker = not execution.records_orders
        self.halts = AutoHalts(lambda: self._require_pipeline().gate)
        self.feed = CandleFeed(self)
        self._stop = asyncio.Event()

    @property
    def exchange(self) -> Any:
        """The local exchange the market source runs in this process (a replay), else ``None``."""
        return self.source.exchange

    @property
    def orders(self) -> Any:
        """The venue's order manager, or ``None`` on the simulated account."""
        return self.execution.orders

    @property
    def venue(self) -> Any:
        """The venue's order client, or ``None`` on the simulated account."""
        return self.execution.venue

    @property
    def auto_halts(self) -> tuple[str, ...]:
        """Why the engine itself holds trading halted now (``reconciliation``, ``stage:<name>``)."""
        return self.halts.causes

    def replay_progress(self) -> dict[str, Any] | None:
        """How far a replay has got: market time, % of the replayed history done, wall seconds left at this speed."""
        return self.source.progress()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set — or, in replay mode with ``replay.stop_at_end``, until the replayed history has
        been traded to its end. Raises the market source's failure (a lockstep replay the bot stopped answering)."""
        self._stop = stop
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        try:
            await self._start()
            await stop.wait()
            if self.source.failure is not None:
                raise self.source.failure
        finally:
            await self._shutdown()
            sys.setswitchinterval(switch_interval)

    async def records_written(self) -> None:
        """Wait until every record queued so far is in the database, so that it and the engine tell one story."""
        await asyncio.wrap_future(self.recording.writer.submit(lambda: None))

    def record_event(self, kind: EventKind, detail: str, source: str | None = None) -> None:
        """An event for the record (reconciliations, stage crashes); a no-op without a recorder."""
        if self.recorder is not None:
            self.recording.record(self.recorder.record_event, kind, detail, source)

    async def _start(self) -> None:
        s = self.settings
        check_data_dir(s.data_dir)
        if s.api.enabled:
            self.control_token = control_token(s)
            self.api_socket = bind_api(s.api.host, s.api.port)
        connection = await self.source.open()
        self.market = BinanceMarketData(connection.config, demo=connection.demo)
        specs = await check_symbols(s, self.market, await self.market.load_markets())
        await self.execution.open(self, connection)
        self.pipeline = self._build_pipeline(specs)
        self.restore_trading_state()
        self._build_supervision()
        await self.feed.warm_up()
        assert self.health is not None and self.supervisor is not None
        self.health.mark_venue_ok(self.clock.now_ms())  # markets and the warm-up candles just came from it
        await self.execution.settle(self)
        if self.recorder is not None:  # on disk before the first candle: a bot killed at once still has its run
            await self.recording.persist(self.recorder.start_run, s, market_clock=self.clock.now_ms)
        self.started_ms = self.clock.now_ms()
        await self.supervisor.start()
        self.market.take_now = self.feed.take_now
        self.source.start()
        log.info(
            "running %s on %s (%s), strategy %s on %s; heartbeat every minute",
            s.mode, ", ".join(s.symbols), self.source.name, s.strategy.name,
            ", ".join(tf.value for tf in sorted(s.timeframes, key=lambda t: t.ms)),
        )  # fmt: skip
        self.ready.set()

    def _build_pipeline(self, specs: dict[str, SymbolSpec]) -> Pipeline:
        s = self.settings
        portfolio = Portfolio(Decimal(str(s.backtest.initial_equity_usdt)), keep_history=False)
        pipeline = Pipeline(
            s.symbols,
            BASE,
            build_strategy(s.strategy),
            RiskGate(s.risk, specs, keep_history=False),
            self.execution.broker(self, specs),
            portfolio,
            keep_history=False,
        )
        pipeline.listeners.append(self.recording)
        pipeline.gate.on_reducing = self._reducing
        self.recording.pipeline = pipeline
        return pipeline

    def _build_supervision(self) -> None:
        """Stages, readiness and the heartbeat, all on the market clock. ``scale`` keeps wall-clock cadences (one
        heartbeat line a minute, a venue check every 10 s) when a replay runs faster than real time; restart backoff
        runs on the wall clock itself."""
        s = self.settings
        streams = [(symbol, tf) for symbol in s.symbols for tf in sorted({BASE, *s.timeframes}, key=lambda t: t.ms)]
        scale = self.source.speed
        venue_every_s = VENUE_CHECK_S * scale
        self.supervisor = Supervisor(
            self.clock, wall=self.wall, counters=self.counters,
            on_escalate=self._escalate, on_crash=self._crashed, on_recover=self._recovered,
        )  # fmt: skip
        self.health = Health(self.supervisor, streams, venue_timeout_s=3 * venue_every_s)
        restart = self._restart or RestartPolicy()
        candle_s = BASE.ms / 1000
        idle_beat_s = max(3 * candle_s, 5 * scale)  # idle stages beat once a wall second, however fast a replay
        self.supervisor.add("market-data", self.feed.stream_stage, restart=restart, beat_timeout_s=3 * candle_s)
        self.supervisor.add("pipeline", self.feed.pipeline_stage, restart=restart, beat_timeout_s=idle_beat_s)
        self.supervisor.add("venue-check", self._venue_stage, restart=restart, beat_timeout_s=3 * venue_every_s)
        # readiness is re-judged every half candle, but at most 20 times a wall second: a fast replay's heartbeat
        # would otherwise re-judge it thousands of times a second and take the event loop from the bot
        check_s = max(min(5 * scale, candle_s / 2), scale / 20)
        self.monitor = HeartbeatMonitor(
            self.health, self.counters, line_interval_s=60 * scale, check_interval_s=check_s,
            progress=self.replay_progress,
        )  # fmt: skip
        self.supervisor.add("heartbeat", self.monitor.run, restart=restart, beat_timeout_s=3 * check_s)
        self.execution.add_stages(self, self.supervisor, restart)
        end = self.source.end_stage(self, self._stop)
        if end is not None:
            self.supervisor.add("replay-end", end, critical=False, restart=restart, beat_timeout_s=float("inf"))
        for attach in self._services:
            attach(self, restart)

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
            await self.clock.sleep(VENUE_CHECK_S * self.source.speed)

    def _reducing(self, reason: str, day: int) -> None:
        """The daily loss limit was reached: recorded, so a restart today keeps taking no entries."""
        self._record_trading_state(reducing_detail(reason), "risk")

    def _crashed(self, name: str, exc: BaseException) -> None:
        self.record_event(EventKind.TASK_CRASH, f"{name}: {exc!r}", name)

    def _escalate(self, name: str, exc: BaseException) -> None:
        """A critical stage that keeps crashing halts trading until it runs again; a non-critical one (the API, the
        notifier) is reported in readiness, the log and a notification, and trading goes on."""
        assert self.supervisor is not None
        critical = name in {st.name for st in self.supervisor.statuses(self.clock.now_ms()) if st.critical}
        if not critical:
            log.error("stage %s keeps crashing (%s); still restarting it, trading goes on", name, exc)
            return
        self.halts.halt(f"stage:{name}", f"stage {name} keeps crashing: {exc}")
        log.error("trading HALTED: stage %s keeps crashing (%s); still restarting it", name, exc)

    def _recovered(self, name: str) -> None:
        self.halts.lift(f"stage:{name}", f"stage {name} recovered")

    async def _shutdown(self) -> None:
        if self.supervisor is not None:
            await self.supervisor.stop()
        if self.market is not None:
            await self.market.close()
        await self.execution.disconnect()
        await self.source.close()
        close_quietly(self.api_socket)
        if self.recorder is not None:
            self.recording.record(self.recorder.stop_run, "stopped")
        self.recording.close()
        self.execution.close()
        log.info("stopped cleanly")
