"""Strategies with a known answer, for testing the research tools through the ordinary ``Strategy`` protocol."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict

from ictbot.config import Settings
from ictbot.data.frame import CandleFrame
from ictbot.domain import Candle, OrderType, Side, Signal, Timeframe
from ictbot.strategy.params import SearchChoice, SearchRange

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
    """Settings of ``PlantedStrategy``: its results peak at ``x = 7``, ``mode = "b"``; the optimiser must find it."""

    model_config = ConfigDict(frozen=True)

    name: str = "planted"
    x: Annotated[int, SearchRange(0, 15, step=1)] = 0
    mode: Annotated[str, SearchChoice(("a", "b", "c"))] = "a"

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({Timeframe.H1})

    @property
    def quality(self) -> float:
        return 1.0 - abs(self.x - 7) / 10 - (0.0 if self.mode == "b" else 0.3)


class PlantedStrategy(PeekingStrategy):
    """Each hour, takes the side that wins on a share of hours set by ``quality`` and the losing side otherwise."""

    name = "planted"

    def __init__(self, frame: CandleFrame, settings: PlantedSettings) -> None:
        super().__init__(frame)
        self._quality = settings.quality
        self._hour = 0

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        signals = super().on_candle(symbol, timeframe, candle)
        self._hour += 1
        right = (self._hour * 0.6180339887) % 1.0 < self._quality
        if right or not signals:
            return signals
        s = signals[0]
        return [_signal(symbol, s.side.opposite, candle, timeframe, "planted")]


def planted(frame: CandleFrame, settings: Settings) -> PlantedStrategy:
    """A picklable strategy factory for the optimiser (bind ``frame`` with ``functools.partial``)."""
    return PlantedStrategy(frame, settings.strategy)


def planted_settings() -> Settings:
    return Settings(symbols=["BTCUSDT"]).model_copy(update={"strategy": PlantedSettings()})


class RecordingSettings(PlantedSettings):
    name: str = "recording"

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return frozenset({Timeframe.M5})


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
