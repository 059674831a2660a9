"""FVG retrace: enter on a retrace into a fresh fair value gap that agrees with the higher-timeframe candle.

Bias = direction of the last closed bias-timeframe candle. When the entry timeframe reveals a gap in the bias
direction, a limit order rests at the gap's near edge, the stop sits beyond the far edge plus a buffer, the target at
``reward_risk`` × the stop distance; the order is cancelled if not filled within ``order_ttl_candles``.
"""

from __future__ import annotations

import copy
from typing import Literal

from pydantic import Field, model_validator

from ictbot.sdk import Context, FairValueGap, IctConfig, Side, Signal, Strategy, StrategySettings, Timeframe, Wake


class FvgRetraceSettings(StrategySettings):
    """The simple strategy: a retrace into a fresh fair value gap in the direction of the last bias candle."""

    name: Literal["fvg_retrace"] = Field("fvg_retrace", description="selects this strategy")
    entry_timeframe: Timeframe = Field(Timeframe.M5, description="timeframe whose gaps and candles make the entries")
    bias_timeframe: Timeframe = Field(
        Timeframe.H1, description="timeframe whose last closed candle sets the direction; longer than entry_timeframe"
    )
    reward_risk: float = Field(2.0, gt=0, description="target distance as a multiple of the stop distance (R)")
    stop_buffer_pct: float = Field(0.05, ge=0, le=5, description="stop placed this % of price beyond the gap (%)")
    min_stop_pct: float = Field(
        0.15, ge=0, le=20, description="skip setups whose stop is closer than this % of price (%)"
    )
    order_ttl_candles: int = Field(
        12, ge=1, description="an unfilled entry is cancelled after this many candles of entry_timeframe (candles)"
    )

    def detectors(self) -> IctConfig:
        # Only gaps the candle reveals are traded: nothing needs tracking for long, so memory stays flat.
        return IctConfig(max_age=1)

    @model_validator(mode="after")
    def _bias_above_entry(self) -> FvgRetraceSettings:
        if self.bias_timeframe.ms <= self.entry_timeframe.ms:
            raise ValueError(
                f"bias_timeframe ({self.bias_timeframe}) must be longer than entry_timeframe ({self.entry_timeframe})"
            )
        return self


class FvgRetraceStrategy(Strategy[FvgRetraceSettings]):
    """A limit entry at a fresh fair value gap that agrees with the last bias candle."""

    name = "fvg_retrace"
    Settings = FvgRetraceSettings
    history = 1

    def wake(self) -> list[Wake]:
        return [Wake(self.settings.entry_timeframe, "fvg")]

    def on_candle(self, ctx: Context) -> list[Signal]:
        s = self.settings
        if ctx.timeframe is not s.entry_timeframe:
            return []
        bias_candles = ctx.candles(s.bias_timeframe)
        if not len(bias_candles):
            return []
        last = bias_candles[-1]
        bias = (last.close > last.open) - (last.close < last.open)
        now = ctx.candle.open_time
        gaps = [r for r in ctx.ict().records if isinstance(r, FairValueGap) and r.known_at == now]
        return [signal for gap in gaps if gap.direction == bias and (signal := self._signal(ctx, gap)) is not None]

    def _signal(self, ctx: Context, gap: FairValueGap) -> Signal | None:
        s = self.settings
        side = Side.BUY if gap.direction > 0 else Side.SELL
        entry = gap.top if side is Side.BUY else gap.bottom
        far_edge = gap.bottom if side is Side.BUY else gap.top
        stop = far_edge - side.sign * entry * s.stop_buffer_pct / 100
        distance = abs(entry - stop)
        if distance < entry * s.min_stop_pct / 100:
            return None
        return ctx.limit(
            side,
            entry,
            stop,
            entry + side.sign * s.reward_risk * distance,
            reason=f"{'bullish' if side is Side.BUY else 'bearish'} FVG retrace with {s.bias_timeframe} bias",
            ttl_candles=s.order_ttl_candles,
            evidence=(copy.copy(gap),),  # a snapshot: detector records keep evolving after the signal
        )
