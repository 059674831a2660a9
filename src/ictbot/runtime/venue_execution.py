"""The venue execution adapter: orders through the order manager to the venue (the local exchange in a replay,
Binance live), recorded before they are sent, with the account's event stream and reconciliation as stages."""

from __future__ import annotations

import asyncio
import logging
import math
from decimal import Decimal
from typing import TYPE_CHECKING

from ictbot.config import Settings
from ictbot.domain import Fill, Timeframe
from ictbot.errors import VenueError
from ictbot.execution.broker import VenueBroker
from ictbot.execution.client import VenueClient
from ictbot.execution.orders import Job, OrderManager
from ictbot.kernel.pipeline import Broker
from ictbot.risk.daily import day_history, restore_day
from ictbot.risk.gate import TradingState
from ictbot.runtime.account_stream import book_funding, user_stream_stage
from ictbot.runtime.order_sync import ORDER_SYNC_S, Reconciler
from ictbot.runtime.supervisor import RestartPolicy, StageContext, StageFactory, Supervisor
from ictbot.runtime.waiting import wait_for
from ictbot.storage import Recorder
from ictbot.storage.journal import JOURNAL_NAME, IntentJournal
from ictbot.symbols import SymbolSpec
from ictbot.venues.binance import VenueConnection

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine

log = logging.getLogger("ictbot.engine")
BASE = Timeframe.M1
JOB_POLL_S = 1.0  # wall seconds the execution stage waits for a job before it beats anyway


class VenueExecution:
    """Orders on the venue: one-way mode, isolated margin, the configured leverage."""

    records_orders = True

    def __init__(self, settings: Settings, recorder: Recorder) -> None:
        self._settings = settings
        self._recorder = recorder
        self.venue: VenueClient | None = None
        self.orders: OrderManager | None = None
        self.journal: IntentJournal | None = None
        self.reconciler: Reconciler | None = None
        self._ws_url = ""
        self.user_events_handled = 0

    @property
    def leaving(self) -> bool:
        return self.orders is not None and self.orders.leaving

    def _handled(self) -> None:
        self.user_events_handled += 1

    @property
    def idle(self) -> bool:
        """No order request in flight and no order job queued or running."""
        return self.orders is None or not (self.orders.busy or self.orders.leaving)

    async def open(self, engine: Engine, connection: VenueConnection) -> None:
        """Connect the order client and set the account up as configured; restore the intents journal."""
        s = self._settings
        self._ws_url = connection.ws_url
        self.venue = VenueClient(connection.config, demo=connection.demo, order_line=True, clock=engine.wall)
        await self.venue.start()
        await self.venue.ensure_one_way_mode()
        for symbol in s.symbols:
            await self.venue.configure_symbol(symbol, leverage=s.risk.leverage, isolated=True)
        if s.mode == "live":
            await self._warn_withdrawal_permission()
        self.journal = IntentJournal(s.data_dir / JOURNAL_NAME)
        await engine.recording.persist(self.journal.restore, self._recorder)
        # A venue fill goes through the pipeline; once an entry's request is on the socket (or could not be sent),
        # the other symbols' klines held back while it left go ahead.
        self.orders = OrderManager(
            self.venue, self._recorder, engine.recording.persist, lambda fill: engine.pipeline.apply_fill(fill),
            self.journal, candle_ms=BASE.ms, settle_s=s.execution.unknown_order_settle_s,
            on_sent=lambda: engine.market.release(),
            now_ms=lambda: engine.clock.now_ms(), max_unprotected_s=s.execution.max_unprotected_s, clock=engine.wall,
        )  # fmt: skip
        self.orders.send_latencies = engine.latencies
        log.info("orders go to the venue (one-way mode, isolated margin, leverage %dx)", s.risk.leverage)

    def broker(self, engine: Engine, specs: dict[str, SymbolSpec]) -> Broker:
        assert self.orders is not None
        return VenueBroker(self.orders, lambda: engine.recording.arrived_ns)

    def add_stages(self, engine: Engine, supervisor: Supervisor, restart: RestartPolicy) -> None:
        assert self.orders is not None and engine.pipeline is not None and engine.health is not None
        self.reconciler = Reconciler(
            self.orders, self._settings.symbols, engine.pipeline, engine.health, engine.halts, engine.clock,
            engine.record_event,
        )  # fmt: skip
        speed = engine.source.speed
        idle_beat_s = max(3 * BASE.ms / 1000, 5 * speed)
        supervisor.add("execution", self._execution_stage(engine), restart=restart, beat_timeout_s=idle_beat_s)
        stream = user_stream_stage(
            self.venue, self._ws_url, self.orders, engine.wall,
            lambda event: book_funding(engine.pipeline, engine.recording.record, engine.recorder, event),
            lambda: self.reconciler.reconcile(apply_fills=True), self._handled,
        )  # fmt: skip
        supervisor.add("user-stream", stream, restart=restart, beat_timeout_s=math.inf)
        supervisor.add(
            "order-sync", self.reconciler.stage(ORDER_SYNC_S * speed), restart=restart,
            beat_timeout_s=3 * ORDER_SYNC_S * speed,
        )  # fmt: skip

    async def settle(self, engine: Engine) -> None:
        """Reconcile before trading; live, the daily loss limit carries on from today's history."""
        assert self.reconciler is not None
        await self.reconciler.reconcile(apply_fills=False)
        if self._settings.mode == "live":
            await self._restore_day(engine)

    async def close_now(self, engine: Engine, symbol: str, reason: str) -> list[Fill]:
        """The closing fills arrive as the venue's events: none are returned."""
        assert self.orders is not None
        return await self.orders.close_symbol(symbol, reason, engine.clock.now_ms())

    async def disconnect(self) -> None:
        if self.venue is not None:
            await self.venue.close()

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()

    def _execution_stage(self, engine: Engine) -> StageFactory:
        """Order jobs, each in its own task, started as they come: a symbol's jobs take turns on its lock, symbols
        never wait for each other. A failed job is logged and settled by a reconciliation at once."""

        async def execution(ctx: StageContext) -> None:
            assert self.orders is not None
            orders = self.orders
            orders.run_job = self._run_job
            try:
                while True:  # jobs queued while this stage was down, and the stage's heartbeat
                    try:
                        job = await wait_for(orders.jobs.get(), engine.clock, JOB_POLL_S * engine.source.speed)
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

        return execution

    async def _run_job(self, job: Job) -> None:
        assert self.reconciler is not None
        try:
            await job()
        except VenueError as exc:
            log.error("order job failed (%s); reconciling with the venue", exc)
            self.reconciler.soon.set()
        except Exception:
            log.exception("order job crashed; reconciling with the venue")
            self.reconciler.soon.set()

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

    async def _restore_day(self, engine: Engine) -> None:
        """The daily loss limit carries on from the account's history of today, and a REDUCING state reached today
        holds (the account outlives the process in live mode)."""
        assert engine.pipeline is not None and engine.market is not None
        pipeline, now = engine.pipeline, engine.clock.now_ms()
        history = day_history(self._recorder, now, self._settings.symbols)
        marks = {}
        for symbol in history.held_at_open:
            [candle] = await engine.market.closed_candles(symbol, BASE, history.start_ms, 1) or [None]
            marks[symbol] = Decimal(str(candle.open)) if candle is not None else history.held_at_open[symbol][1]
        opening = restore_day(pipeline, history, marks)
        log.info("today's opening equity from the account's history: %s USDT", opening)
        if pipeline.gate.state is TradingState.REDUCING:
            log.warning("trading starts REDUCING (daily loss limit reached earlier today): %s", history.reducing)
