"""The simulated execution adapter: orders fill in the simulated account by the backtest's matching rules, so a
replay of history and a backtest of the same candles make the same trades (paper mode, or
``execution.broker: simulated``)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ictbot.config import Settings
from ictbot.domain import Fill, Timeframe
from ictbot.execution.client import VenueClient
from ictbot.execution.orders import OrderManager
from ictbot.kernel.pipeline import Broker
from ictbot.runtime.supervisor import RestartPolicy, Supervisor
from ictbot.symbols import SymbolSpec
from ictbot.venues.binance import VenueConnection
from ictbot.venues.simulated import SimulatedBroker

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine

BASE = Timeframe.M1


class SimulatedExecution:
    """No order leaves the process; fills are recorded by the engine as the simulated account makes them."""

    records_orders = False
    leaving = False
    orders: OrderManager | None = None
    venue: VenueClient | None = None
    user_events_handled = 0  # no user stream: every fill is made here
    idle = True  # nothing is ever in flight

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def open(self, engine: Engine, connection: VenueConnection) -> None:
        """Nothing to connect: the account is in this process."""

    def broker(self, engine: Engine, specs: dict[str, SymbolSpec]) -> Broker:
        bt, leverage = self._settings.backtest, self._settings.risk.leverage
        return SimulatedBroker(specs, bt.maker_fee_rate, bt.taker_fee_rate, bt.slippage_ticks, BASE.ms, leverage)

    def add_stages(self, engine: Engine, supervisor: Supervisor, restart: RestartPolicy) -> None:
        """No stage; and nothing to reconcile, so readiness says reconciled."""
        assert engine.health is not None
        engine.health.mark_reconciled(engine.clock.now_ms())

    async def settle(self, engine: Engine) -> None:
        """The simulated account is the bot's own: nothing to agree with."""

    async def close_now(self, engine: Engine, symbol: str, reason: str) -> list[Fill]:
        """Close at the latest mark at once (no mark yet: nothing has traded, nothing to close)."""
        pipeline = engine.pipeline
        assert pipeline is not None
        mark = pipeline.marks.get(symbol)
        if mark is None:
            return []
        fills = pipeline.broker.close_now(symbol, Decimal(str(mark)), engine.clock.now_ms())
        engine.feed.note_cancelled()
        for fill in fills:
            pipeline.apply_fill(fill)
        return fills

    async def disconnect(self) -> None:
        """No connection of its own."""

    def close(self) -> None:
        """Nothing outlives the process."""
