"""The default ICT multi-timeframe strategy.

Long setup (shorts mirror it):

1. **Bias** — every bias timeframe's market structure is bullish (its last BOS/CHoCH was up) and, optionally, the
   entry price is in the discount half of the highest bias timeframe's dealing range.
2. **Sweep** — on the entry timeframe, a candle trades below resting sell-side liquidity (the last confirmed swing
   low, an equal-lows pool, or the previous day's/week's low) and closes back above it.
3. **Displacement with a structure shift** — within ``sweep_window_candles`` of the sweep, a candle closes above the
   last swing high (a bullish BOS or CHoCH on the entry timeframe).
4. **Entry** — a limit order at the top of the bullish fair value gap the displacement left (formed after the sweep,
   not yet filled), or else at the top of the order block the break produced.
5. **Risk** — the stop goes below the sweep's low or the zone, whichever is lower, by ``stop_buffer_pct``; the target
   is the nearest buy-side liquidity above that pays at least ``min_reward_risk``, otherwise ``reward_risk`` R.

Every signal carries snapshots of the detector records that justified it.

Written on ``ictbot.sdk`` only: it reads every timeframe's detectors from the context, so the framework runs them
(incrementally live, from timelines in a backtest). Its ``wake`` tells a backtest that only entry candles where a
structure break follows a same-direction sweep within the window, with every bias trend agreeing, can signal.
"""

from __future__ import annotations

import copy
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ictbot.sdk import (
    Context,
    Detectors,
    FairValueGap,
    IctConfig,
    LiquidityLevel,
    OrderBlock,
    SearchChoice,
    SearchRange,
    Signal,
    Strategy,
    StrategySettings,
    SweepThenBreak,
    Swing,
    Timeframe,
    Wake,
    stop_beyond,
    sweeps_then_breaks,
)


class IctMtfSettings(StrategySettings):
    """The default ICT strategy: higher-timeframe bias; sweep, structure shift, FVG/OB entry."""

    name: Literal["ict_mtf"] = Field("ict_mtf", description="selects this strategy (the default)")
    entry_timeframe: Timeframe = Field(
        Timeframe.M5, description="timeframe of the sweep, the structure shift and the entry zone"
    )
    bias_timeframes: tuple[Timeframe, ...] = Field(
        (Timeframe.M15, Timeframe.H1),
        min_length=1,
        description="higher timeframes whose market structure must all agree with the trade; each longer than "
        "entry_timeframe",
    )
    require_discount: Annotated[bool, SearchChoice((True, False))] = Field(
        True, description="long entries only in discount, shorts only in premium"
    )
    sweep_window_candles: Annotated[int, SearchRange(3, 36, step=1)] = Field(
        12, ge=1, description="most entry candles between the sweep and the structure break (candles)"
    )
    entry_zone: Annotated[Literal["fvg", "ob", "fvg_or_ob"], SearchChoice(("fvg", "ob", "fvg_or_ob"))] = Field(
        "fvg_or_ob",
        description="where the limit entry rests: the fair value gap the displacement left, the order block of the "
        "break, or the gap and else the block",
    )
    target: Annotated[Literal["liquidity", "r_multiple"], SearchChoice(("liquidity", "r_multiple"))] = Field(
        "liquidity",
        description="take profit at the nearest opposing liquidity paying at least min_reward_risk, else at "
        "reward_risk R; or always at reward_risk R",
    )
    reward_risk: Annotated[float, SearchRange(1.0, 4.0, step=0.25)] = Field(
        2.0,
        gt=0,
        description="target distance as a multiple of the stop distance when no liquidity target qualifies (R)",
    )
    min_reward_risk: Annotated[float, SearchRange(1.0, 3.0, step=0.25)] = Field(
        1.5, gt=0, description="setups whose target pays less than this multiple of the stop distance are skipped (R)"
    )
    stop_buffer_pct: Annotated[float, SearchRange(0.0, 0.3, step=0.01)] = Field(
        0.05, ge=0, le=5, description="stop this % of price beyond the sweep or zone (%)"
    )
    min_stop_pct: Annotated[float, SearchRange(0.05, 0.5, step=0.05)] = Field(
        0.1, ge=0, le=20, description="skip setups whose stop is closer than this % of price (%)"
    )
    order_ttl_candles: Annotated[int, SearchRange(3, 36, step=1)] = Field(
        12, ge=1, description="an unfilled entry is cancelled after this many candles of entry_timeframe (candles)"
    )
    killzones_only: bool = Field(False, description="only take setups inside the killzones (docs/ict.md)")
    swing_length: int = Field(5, ge=1, le=100, description="fractal swing left/right length (candles)")
    zone_max_age: int | None = Field(
        2000,
        ge=1,
        description="candles of its timeframe a gap, block or liquidity level nothing has ended is tracked; null: "
        "forever (memory then grows for as long as the bot runs)",
    )

    def detectors(self) -> IctConfig:
        return IctConfig(swing_left=self.swing_length, swing_right=self.swing_length, max_age=self.zone_max_age)

    @model_validator(mode="after")
    def _bias_above_entry(self) -> IctMtfSettings:
        low = [tf.value for tf in self.bias_timeframes if tf.ms <= self.entry_timeframe.ms]
        if low:
            raise ValueError(f"bias_timeframes {low} must be longer than entry_timeframe ({self.entry_timeframe})")
        return self


class IctMtfStrategy(Strategy[IctMtfSettings]):
    """Higher-timeframe bias; a liquidity sweep, a structure shift, a limit entry at the FVG or order block left."""

    name = "ict_mtf"
    Settings = IctMtfSettings

    def wake(self) -> list[Wake]:
        s = self.settings
        return [
            Wake(
                s.entry_timeframe,
                "structure_break",
                after_sweep_within=s.sweep_window_candles,
                trend_agrees=s.bias_timeframes,
            )
        ]

    def on_candle(self, ctx: Context) -> list[Signal]:
        s = self.settings
        if ctx.timeframe is not s.entry_timeframe:
            return []
        setups = sweeps_then_breaks(ctx, s.sweep_window_candles, s.bias_timeframes)
        if not setups:
            return []
        state = ctx.ict()
        if s.killzones_only and state.killzone is None:
            return []
        bias = [ctx.ict(tf) for tf in s.bias_timeframes]
        signals = []
        for setup in setups:
            signal = self._setup(ctx, state, bias, setup)
            if signal is not None:
                signals.append(signal)
        return signals

    def _setup(self, ctx: Context, state: Detectors, bias: list[Detectors], setup: SweepThenBreak) -> Signal | None:
        s = self.settings
        direction, sweep, brk = setup.direction, setup.sweep, setup.brk
        zone = self._entry_zone(state, direction, sweep.at, ctx.candle.open_time)
        if zone is None:
            return None
        side = setup.side
        entry = zone.top if direction > 0 else zone.bottom
        if s.require_discount and not self._priced_right(bias, direction, entry):
            return None
        far = min(sweep.extreme, zone.bottom) if direction > 0 else max(sweep.extreme, zone.top)
        stop = stop_beyond(far, direction, entry, s.stop_buffer_pct)
        risk = (entry - stop) * direction
        if risk <= entry * s.min_stop_pct / 100:
            return None
        target, target_kind = self._target(state, direction, entry, risk)
        if target is None:
            return None
        return ctx.limit(
            side,
            entry,
            stop,
            target,
            reason=f"{'bullish' if direction > 0 else 'bearish'} sweep → {brk.kind} → {zone.kind} entry, "
            f"target {target_kind}",
            ttl_candles=s.order_ttl_candles,
            evidence=(sweep.evidence, copy.copy(brk), copy.copy(zone)),
        )

    def _priced_right(self, bias: list[Detectors], direction: int, entry: float) -> bool:
        """Longs buy in the discount half of the highest bias timeframe's dealing range, shorts sell in premium."""
        timeframes = self.settings.bias_timeframes
        leg = bias[timeframes.index(max(timeframes, key=lambda tf: tf.ms))].dealing_range
        return leg is not None and (not leg.in_premium(entry) if direction > 0 else leg.in_premium(entry))

    def _entry_zone(self, state: Detectors, direction: int, since: int, now: int) -> FairValueGap | OrderBlock | None:
        allowed = self.settings.entry_zone
        if allowed in ("fvg", "fvg_or_ob"):
            gaps = [
                g
                for g in state.fvgs_formed_since(since)
                if g.direction == direction and g.known_at <= now and g.filled_at is None
            ]
            if gaps:
                return max(gaps, key=lambda g: g.known_at)
        if allowed in ("ob", "fvg_or_ob"):
            blocks = [
                r for r in state.records if isinstance(r, OrderBlock) and r.direction == direction and r.known_at == now
            ]
            if blocks:
                return blocks[-1]
        return None

    def _target(self, state: Detectors, direction: int, entry: float, risk: float) -> tuple[float | None, str]:
        s = self.settings
        if s.target == "liquidity":
            levels: list[LiquidityLevel | Swing] = list(state.liquidity_on(direction))
            opposing = state.swing_high if direction > 0 else state.swing_low
            if opposing is not None:
                levels.append(opposing)
            prices = [
                (lvl.level if isinstance(lvl, LiquidityLevel) else lvl.price, lvl.kind)
                for lvl in levels
                if ((lvl.level if isinstance(lvl, LiquidityLevel) else lvl.price) - entry) * direction
                >= s.min_reward_risk * risk
            ]
            if prices:
                price, kind = min(prices, key=lambda p: abs(p[0] - entry))
                return price, kind
        if s.reward_risk >= s.min_reward_risk:
            return entry + direction * s.reward_risk * risk, f"{s.reward_risk:g}R"
        return None, ""
