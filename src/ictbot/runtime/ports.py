"""The ports the engine is built from: where market data comes from and where orders go.

The composition (``ictbot.compose``) picks one adapter of each from the settings, and the clocks the engine reads
(``kernel/clock.py``: the market clock — a replay's replayed time, the wall clock live, a test's ``ManualClock`` — and
the wall clock for restart backoff and the order manager's waits); the engine calls only these methods and asks no
adapter for a clock, so the modes differ in their adapters and never in the engine's code.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from ictbot.domain import Fill
from ictbot.execution.client import VenueClient
from ictbot.execution.orders import OrderManager
from ictbot.kernel.pipeline import Broker
from ictbot.runtime.supervisor import RestartPolicy, StageFactory, Supervisor
from ictbot.symbols import SymbolSpec
from ictbot.venues.binance import VenueConnection

if TYPE_CHECKING:
    from ictbot.exchange.server import LocalExchange
    from ictbot.runtime.engine import Engine


class MarketSource(Protocol):
    """Candles and the venue they come from: a replay on the local exchange, or Binance."""

    name: str  # what the start-up line calls the venue
    speed: float  # market seconds per wall second
    warmup_candles: int  # closed base candles the strategy learns from before trading
    exchange: LocalExchange | None  # the local exchange this source runs in-process, if any (faults, the status)
    failure: Exception | None  # why the market data ended early (a lockstep replay the bot stopped answering)

    async def open(self) -> VenueConnection:
        """Start what serves the venue and say how to reach it."""
        ...

    def start(self) -> None:
        """The bot is ready: let market time run."""
        ...

    def progress(self) -> dict[str, Any] | None:
        """How far a replay has got (``/api/status``, the heartbeat line); ``None`` on a live venue."""
        ...

    def end_stage(self, engine: Engine, stop: asyncio.Event) -> StageFactory | None:
        """A stage that sets ``stop`` once the market data has ended and been traded, if it ever ends."""
        ...

    async def close(self) -> None: ...


class Execution(Protocol):
    """Where the pipeline's orders go: the simulated account, or the venue through the order manager."""

    orders: OrderManager | None  # the venue's order manager; the simulated account has none
    venue: VenueClient | None  # its order client (rate-limit usage for the metrics)
    records_orders: bool  # the order manager records intents and fills itself (the recorder must not)
    user_events_handled: int  # user-stream event messages acted on (a lockstep replay waits for them)

    @property
    def idle(self) -> bool:
        """No order request in flight and no order job queued or running (a lockstep replay waits for it)."""
        ...

    async def open(self, engine: Engine, connection: VenueConnection) -> None:
        """Connect and set the account up, before the pipeline is built."""
        ...

    def broker(self, engine: Engine, specs: dict[str, SymbolSpec]) -> Broker: ...

    def add_stages(self, engine: Engine, supervisor: Supervisor, restart: RestartPolicy) -> None:
        """Register this execution's stages (and mark readiness for what it has nothing to do about)."""
        ...

    async def settle(self, engine: Engine) -> None:
        """After the warm-up, before trading: agree with the account."""
        ...

    @property
    def leaving(self) -> bool:
        """An entry's request is on its way out: market data of the same burst waits for it."""
        ...

    async def close_now(self, engine: Engine, symbol: str, reason: str) -> list[Fill]:
        """Cancel ``symbol``'s orders and close its position at market, returning the fills this side matched."""
        ...

    async def disconnect(self) -> None:
        """Close the connections (the supervisor's stages have stopped)."""
        ...

    def close(self) -> None:
        """Release what outlives the connections (after the last record is written)."""
        ...
