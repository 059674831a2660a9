"""FVG retrace: enter on a retrace into a fresh fair value gap that agrees with the higher-timeframe candle.

Bias = direction of the last closed bias-timeframe candle. When the entry timeframe reveals a gap in the bias
direction, a limit order rests at the gap's near edge, the stop sits beyond the far edge plus a buffer, the target at
``reward_risk`` × the stop distance; the order is cancelled if not filled within ``order_ttl_candles``.
"""

from __future__ import annotations

import copy

from ictbot.config import FvgRetraceSettings
from ictbot.domain import Candle, OrderType, Side, Signal, Timeframe
from ictbot.ict.fvg import FairValueGap, FvgDetector


class FvgRetraceStrategy:
    name = "fvg_retrace"

    def __init__(self, settings: FvgRetraceSettings) -> None:
        self.settings = settings
        self._gaps: dict[str, FvgDetector] = {}
        self._bias: dict[str, int] = {}

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return self.settings.timeframes

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        if timeframe is self.settings.bias_timeframe:
            self._bias[symbol] = (candle.close > candle.open) - (candle.close < candle.open)
            return []
        if timeframe is not self.settings.entry_timeframe:
            return []
        # Only gaps the candle reveals are traded, so none is tracked beyond the next candle: memory stays flat.
        detector = self._gaps.setdefault(symbol, FvgDetector(max_age=1))
        bias = self._bias.get(symbol, 0)
        return [
            signal
            for gap in detector.update(candle)
            if gap.direction == bias and (signal := self._signal(symbol, gap, candle)) is not None
        ]

    def _signal(self, symbol: str, gap: FairValueGap, candle: Candle) -> Signal | None:
        s = self.settings
        side = Side.BUY if gap.direction > 0 else Side.SELL
        entry = gap.top if side is Side.BUY else gap.bottom
        far_edge = gap.bottom if side is Side.BUY else gap.top
        stop = far_edge - side.sign * entry * s.stop_buffer_pct / 100
        distance = abs(entry - stop)
        if distance < entry * s.min_stop_pct / 100:
            return None
        tf_ms = s.entry_timeframe.ms
        decided_at = candle.open_time + tf_ms
        return Signal(
            symbol=symbol,
            side=side,
            entry=entry,
            stop=stop,
            target=entry + side.sign * s.reward_risk * distance,
            created_at=decided_at,
            reason=f"{'bullish' if side is Side.BUY else 'bearish'} FVG retrace with {s.bias_timeframe} bias",
            order_type=OrderType.LIMIT,
            expires_at=decided_at + s.order_ttl_candles * tf_ms,
            evidence=(copy.copy(gap),),  # a snapshot: detector records keep evolving after the signal
        )
