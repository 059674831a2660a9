"""What the pipeline drives: a strategy as the candle book feeds it (``StrategyHost`` around an ``ictbot.sdk``
strategy). Strategies themselves are written on ``ictbot.sdk``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ictbot.domain import Candle, Signal, Timeframe
from ictbot.sdk import PositionAction

if TYPE_CHECKING:
    import numpy as np

    from ictbot.candles.schedule import EmissionSchedule


class Strategy(Protocol):
    """A strategy sees closed candles only and answers with signals; it never knows the mode it runs in."""

    name: str

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        """Every timeframe the strategy reads; the candle book builds exactly these."""
        ...

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal | PositionAction]:
        """Called once per closed candle of each declared timeframe, finest timeframe first."""
        ...


class PlannedStrategy(Strategy, Protocol):
    """Optional: a strategy that can use a backtest's foreknowledge of the history to skip candles.

    ``run_backtest`` calls ``plan_replay`` once per symbol before the first candle, with every candle each timeframe
    will close; the strategy returns, per timeframe, the indices (into ``schedule.streams[tf].frame``) of the candles
    it still needs through ``on_candle``. A timeframe left out gets every candle. Whatever it skips must not change
    its signals: the live engine and ``run_backtest_stepwise`` never call ``plan_replay``.
    """

    def plan_replay(self, symbol: str, schedule: EmissionSchedule) -> dict[Timeframe, np.ndarray]: ...
