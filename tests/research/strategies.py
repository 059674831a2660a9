"""Strategies with a known answer, for testing the research tools through the ordinary ``Strategy`` protocol."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from ictbot.data.frame import CandleFrame
from ictbot.domain import Candle, OrderType, Side, Signal, Timeframe

STOP, TARGET = 0.005, 0.01  # fractions of price: a 2 R target


def _signal(symbol: str, side: Side, candle: Candle, timeframe: Timeframe, reason: str) -> Signal:
    sign = side.sign
    return Signal(
        symbol=symbol,
        side=side,
        entry=candle.close,
        stop=candle.close * (1 - sign * STOP),
        target=candle.close * (1 + sign * TARGET),
        created_at=candle.open_time + timeframe.ms,
        reason=reason,
        order_type=OrderType.MARKET,
    )


class PeekingStrategy:
    """Cheats: every hour it looks at the next candles and takes the side whose target is reached before its stop."""

    name = "peeking"

    def __init__(self, frame: CandleFrame, horizon: int = 600) -> None:
        self._frame = frame
        self._horizon = horizon

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({Timeframe.H1})

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        f = self._frame
        start = int(np.searchsorted(f.open_time, candle.open_time + timeframe.ms))
        high, low = f.high[start : start + self._horizon], f.low[start : start + self._horizon]
        for side in (Side.BUY, Side.SELL):
            sign = side.sign
            target = candle.close * (1 + sign * TARGET)
            stop = candle.close * (1 - sign * STOP * 0.5)  # keep clear of the stop, slippage included
            won = np.flatnonzero(high >= target if sign > 0 else low <= target)
            lost = np.flatnonzero(low <= stop if sign > 0 else high >= stop)
            if won.size and (not lost.size or won[0] < lost[0]):
                return [_signal(symbol, side, candle, timeframe, "peek")]
        return []


class CoinFlipStrategy:
    """Every hour, a seeded coin decides the direction: no information at all."""

    name = "coin_flip"

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({Timeframe.H1})

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        side = Side.BUY if self._rng.integers(0, 2) else Side.SELL
        return [_signal(symbol, side, candle, timeframe, "coin")]


class PlantedSettings(BaseModel):
    """A strategy whose result peaks at ``x = 7``, ``mode = "b"``: the optimiser must find it."""

    name: str = "planted"
    x: int = 0
    mode: str = "a"


class RecordingStrategy:
    """Signals nothing; records the open time of every candle it is shown, to prove what an optimiser saw."""

    name = "recording"

    def __init__(self, seen: list[int]) -> None:
        self._seen = seen

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({Timeframe.M5})

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        self._seen.append(candle.open_time)
        return []
