"""The ``Strategy`` protocol: what a strategy declares and what it is fed. Small enough to write your own."""

from __future__ import annotations

from typing import Protocol

from ictbot.domain import Candle, Signal, Timeframe


class Strategy(Protocol):
    """A strategy sees closed candles only and answers with signals; it never knows the mode it runs in."""

    name: str

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        """Every timeframe the strategy reads; the candle book builds exactly these."""
        ...

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        """Called once per closed candle of each declared timeframe, finest timeframe first."""
        ...
