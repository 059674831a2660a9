"""Composition: the one place that turns settings into a running bot by choosing its parts.

Each mode is a choice of adapters for the engine's ports: where market data comes from (a replay of candle files —
the bundled sample unless ``replay.data`` names some — on the local exchange in this process, or a venue: Binance,
or any Binance-compatible server by URL), where orders go (the simulated account or the venue's order manager),
the clocks (the market clock: replayed time in a replay, the wall clock on a venue; and the wall clock of restart
backoff and the order manager's waits — a test passes manual ones for either), the recorder, and the optional
services (the HTTP API, Telegram control). The engine never imports the packages above it, nor picks a clock.
"""

from __future__ import annotations

from decimal import Decimal

from ictbot.api import attach_api
from ictbot.config import Settings
from ictbot.errors import ConfigError
from ictbot.kernel.clock import Clock, WallClock
from ictbot.notify.telegram import attach_telegram
from ictbot.runtime.engine import Engine, Service
from ictbot.runtime.ports import Execution, MarketSource
from ictbot.runtime.replay import ReplayClock, ReplaySource
from ictbot.runtime.safety import check_live_opt_in
from ictbot.runtime.simulated_execution import SimulatedExecution
from ictbot.runtime.supervisor import RestartPolicy
from ictbot.runtime.venue_execution import VenueExecution
from ictbot.runtime.venue_source import VenueSource
from ictbot.sample import sample_path
from ictbot.storage import Recorder


def build_engine(
    settings: Settings,
    recorder: Recorder | None = None,
    restart: RestartPolicy | None = None,
    wall: Clock | None = None,
    clock: Clock | None = None,
) -> Engine:
    """The bot ``ictbot run`` starts: the engine for ``settings.mode`` with the adapters, clocks and services it needs.

    ``wall`` (default: the system clock) times restart backoff and the order manager's waits; ``clock`` is a venue's
    market clock (default: the system clock). A replay's market clock is always its replayed time."""
    s = settings
    if s.mode == "backtest":
        raise ConfigError("mode: backtest runs with `ictbot backtest`; `ictbot run` needs replay, paper or live")
    check_live_opt_in(s)
    source: MarketSource
    if s.mode == "replay":
        if clock is not None:
            raise ValueError("a replay's market clock is its replayed time: pass no clock in replay mode")
        clock = ReplayClock(s.replay.speed)
        source = ReplaySource(s.replay.data or [sample_path()], s.replay.warmup,
                              Decimal(str(s.backtest.initial_equity_usdt)), s.replay.speed, s.replay.stop_at_end,
                              clock, s.replay.lockstep, s.replay.lockstep_timeout_s,
                              s.backtest.slippage_ticks)  # fmt: skip
    else:
        source = VenueSource(s)
    market_clock = clock if clock is not None else WallClock()
    execution: Execution
    if (s.execution.broker or ("simulated" if s.mode == "paper" else "venue")) == "simulated":
        execution = SimulatedExecution(s)
    elif recorder is None:
        raise ConfigError(
            "orders on the venue are recorded before they are sent: run with a database (database_url), or set "
            "execution.broker: simulated"
        )
    else:
        execution = VenueExecution(s, recorder)
    services: list[Service] = [attach_api] if s.api.enabled else []
    if s.notify.telegram_control_chat_ids:
        services.append(attach_telegram)
    return Engine(
        s, source, execution, recorder, restart=restart, clock=market_clock,
        wall=wall if wall is not None else WallClock(), services=services,
    )  # fmt: skip
