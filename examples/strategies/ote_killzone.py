"""OTE in the killzone: after a sweep and a structure shift inside London or New York AM, buy (sell) the optimal trade
entry — the 62–79 % retracement of the leg that broke structure — with the higher-timeframe trend.

Position management: once price has run ``breakeven_at_r`` R in favour, the stop moves to break-even and
``partial_fraction`` of the position is taken off; a trade still open after ``max_hold_candles`` is closed.

Use it with ``strategy: {path: examples/strategies/ote_killzone.py}``; check it with
``ictbot strategy check --path examples/strategies/ote_killzone.py``.
"""

from __future__ import annotations

import copy
from typing import Annotated

from pydantic import Field, model_validator

from ictbot.sdk import (
    Context,
    PositionAction,
    SearchChoice,
    SearchRange,
    Signal,
    Strategy,
    StrategySettings,
    Timeframe,
    Wake,
    stop_beyond,
    sweeps_then_breaks,
)


class OteKillzoneSettings(StrategySettings):
    entry_timeframe: Timeframe = Timeframe.M5
    bias_timeframe: Timeframe = Timeframe.H1
    killzones: Annotated[tuple[str, ...], SearchChoice((("london", "ny_am"), ("london", "ny_am", "ny_pm")))] = Field(
        ("london", "ny_am"), description="killzones (IctConfig.killzones names) in which setups are taken"
    )
    sweep_within: Annotated[int, SearchRange(3, 24, step=1)] = Field(
        12, ge=1, le=200, description="entry candles between the sweep and the structure shift"
    )
    ote_level: Annotated[float, SearchRange(0.62, 0.79, step=0.01)] = Field(
        0.705, ge=0.5, le=0.9, description="retracement of the leg the limit entry rests at (fraction)"
    )
    stop_buffer_pct: float = Field(0.05, ge=0, le=5, description="stop this % of price beyond the leg's origin")
    reward_risk: Annotated[float, SearchRange(1.5, 4.0, step=0.25)] = Field(
        2.5, gt=0, description="target distance as a multiple of the stop distance (R)"
    )
    breakeven_at_r: Annotated[float, SearchRange(0.5, 2.0, step=0.25)] = Field(
        1.0, gt=0, description="R in favour (on a close) at which the stop moves to break-even"
    )
    partial_fraction: float = Field(0.5, gt=0, lt=1, description="part of the position closed at the break-even move")
    max_hold_candles: int = Field(96, ge=1, description="entry candles after the fill at which the trade is closed")
    order_ttl_candles: int = Field(12, ge=1, description="an unfilled entry is cancelled after this many candles")

    @model_validator(mode="after")
    def _bias_above_entry(self) -> OteKillzoneSettings:
        if self.bias_timeframe.ms <= self.entry_timeframe.ms:
            raise ValueError(f"bias_timeframe ({self.bias_timeframe}) must be longer than {self.entry_timeframe}")
        return self


class OteKillzone(Strategy[OteKillzoneSettings]):
    """Sweep → structure shift in a killzone, limit entry at the leg's OTE; break-even and partial at 1 R."""

    name = "ote_killzone"
    Settings = OteKillzoneSettings

    def wake(self) -> list[Wake]:
        s = self.settings
        return [
            Wake(
                s.entry_timeframe,
                "structure_break",
                after_sweep_within=s.sweep_within,
                trend_agrees=(s.bias_timeframe,),
            )
        ]

    def on_candle(self, ctx: Context) -> list[Signal]:
        s = self.settings
        if ctx.timeframe is not s.entry_timeframe:
            return []
        ict = ctx.ict()
        if ict.killzone not in s.killzones:
            return []
        leg = ict.dealing_range
        signals = []
        for setup in sweeps_then_breaks(ctx, s.sweep_within, (s.bias_timeframe,)):
            direction = setup.direction
            if leg is None or leg.direction != direction:
                continue
            span = leg.top - leg.bottom
            entry = leg.top - s.ote_level * span if direction > 0 else leg.bottom + s.ote_level * span
            stop = stop_beyond(leg.bottom if direction > 0 else leg.top, direction, entry, s.stop_buffer_pct)
            risk = (entry - stop) * direction
            if risk <= 0:
                continue
            signals.append(
                ctx.limit(
                    setup.side,
                    entry,
                    stop,
                    entry + direction * s.reward_risk * risk,
                    reason=f"{ict.killzone} OTE {s.ote_level:g} after {setup.brk.kind}",
                    ttl_candles=s.order_ttl_candles,
                    evidence=(setup.sweep.evidence, copy.copy(setup.brk)),
                )
            )
        return signals

    def manage(self, ctx: Context) -> list[PositionAction]:
        s = self.settings
        position = ctx.position
        if ctx.timeframe is not s.entry_timeframe or position is None or position.stop is None:
            return []
        if ctx.time - position.opened_at >= s.max_hold_candles * s.entry_timeframe.ms:
            return [ctx.close("time stop")]
        sign = position.side.sign
        risk = (position.entry_price - position.stop) * sign
        if risk <= 0:
            return []  # the stop is at break-even or better already
        if (ctx.candle.close - position.entry_price) * sign >= s.breakeven_at_r * risk:
            return [ctx.move_stop(position.entry_price, "break-even"), ctx.take_partial(s.partial_fraction, "partial")]
        return []
