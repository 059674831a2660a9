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

Live (and in ``run_backtest_stepwise``) the detectors run incrementally in ``IctState``. A backtest calls
``plan_replay`` first; the strategy then reads every timeframe's detectors as of each candle from an ``IctTimeline``
(``ict_replay``) and is visited only on the entry candles where a structure break follows a same-direction sweep
within the window, the only candles that can produce a signal. Tests prove both give the same signals.
"""

from __future__ import annotations

import copy

import numpy as np

from ictbot.candles.schedule import EmissionSchedule
from ictbot.config import IctMtfSettings
from ictbot.domain import Candle, OrderType, Side, Signal, Timeframe
from ictbot.ict.records import FairValueGap, LiquidityLevel, OrderBlock, StructureBreak, Swing
from ictbot.ict.state import IctState
from ictbot.strategy.ict_replay import DetectorState, Replay, Sweep, recent_gaps, record_sweeps, resting_levels


class IctMtfStrategy:
    name = "ict_mtf"

    def __init__(self, settings: IctMtfSettings) -> None:
        self.settings = settings
        self._states: dict[tuple[str, Timeframe], IctState] = {}
        self._sweeps: dict[str, list[Sweep]] = {}
        self._replays: dict[str, Replay] = {}

    @property
    def timeframes(self) -> frozenset[Timeframe]:
        return self.settings.timeframes

    def plan_replay(self, symbol: str, schedule: EmissionSchedule) -> dict[Timeframe, np.ndarray]:
        """Backtest only: read the detectors from timelines; only entry candles that can signal need a visit."""
        replay = self._replays[symbol] = Replay(self.settings, schedule)
        none = np.empty(0, dtype=np.int64)
        return {tf: replay.candidates if tf is self.settings.entry_timeframe else none for tf in self.timeframes}

    def on_candle(self, symbol: str, timeframe: Timeframe, candle: Candle) -> list[Signal]:
        replay = self._replays.get(symbol)
        if replay is not None:
            if timeframe is not self.settings.entry_timeframe:
                return []
            state, records, sweeps, bias = replay.at(candle)
            return self._signals(symbol, state, records, candle, sweeps, bias)
        state = self._state(symbol, timeframe)
        records = state.update(candle)
        if timeframe is not self.settings.entry_timeframe:
            return []
        sweeps = self._sweeps.setdefault(symbol, [])
        record_sweeps(state, records, candle, sweeps)
        horizon = candle.open_time - self.settings.sweep_window_candles * timeframe.ms
        sweeps[:] = [s for s in sweeps if s.at >= horizon]
        bias = [self._state(symbol, tf) for tf in self.settings.bias_timeframes]
        return self._signals(symbol, state, records, candle, sweeps, bias)

    def _state(self, symbol: str, timeframe: Timeframe) -> IctState:
        key = (symbol, timeframe)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = IctState(timeframe, self.settings.detectors())
        return state

    def _signals(
        self,
        symbol: str,
        state: DetectorState,
        records: list,
        candle: Candle,
        sweeps: list[Sweep],
        bias: list[DetectorState],
    ) -> list[Signal]:
        signals = []
        for brk in records:
            if isinstance(brk, StructureBreak) and brk.known_at == candle.open_time:
                signal = self._setup(symbol, state, bias, brk, records, candle, sweeps)
                if signal is not None:
                    signals.append(signal)
        return signals

    def _setup(
        self,
        symbol: str,
        state: DetectorState,
        bias: list[DetectorState],
        brk: StructureBreak,
        records: list,
        candle: Candle,
        sweeps: list[Sweep],
    ) -> Signal | None:
        s = self.settings
        direction = brk.direction
        matching = [sw for sw in sweeps if sw.direction == direction]
        if not matching or not all(b.trend == direction for b in bias):
            return None
        if s.killzones_only and state.killzone is None:
            return None
        sweep = matching[-1]
        zone = self._entry_zone(state, records, direction, sweep.at, candle.open_time)
        if zone is None:
            return None
        side = Side.BUY if direction > 0 else Side.SELL
        entry = zone.top if direction > 0 else zone.bottom
        if s.require_discount and not self._priced_right(bias, direction, entry):
            return None
        far = min(sweep.extreme, zone.bottom) if direction > 0 else max(sweep.extreme, zone.top)
        stop = far - direction * entry * s.stop_buffer_pct / 100
        risk = (entry - stop) * direction
        if risk <= entry * s.min_stop_pct / 100:
            return None
        target, target_kind = self._target(state, direction, entry, risk)
        if target is None:
            return None
        decided_at = candle.open_time + s.entry_timeframe.ms
        evidence = (sweep.evidence, copy.copy(brk), copy.copy(zone))
        return Signal(
            symbol=symbol,
            side=side,
            entry=entry,
            stop=stop,
            target=target,
            created_at=decided_at,
            reason=f"{'bullish' if direction > 0 else 'bearish'} sweep → {brk.kind} → {zone.kind} entry, "
            f"target {target_kind}",
            order_type=OrderType.LIMIT,
            expires_at=decided_at + s.order_ttl_candles * s.entry_timeframe.ms,
            evidence=evidence,
        )

    def _priced_right(self, bias: list[DetectorState], direction: int, entry: float) -> bool:
        """Longs buy in the discount half of the highest bias timeframe's dealing range, shorts sell in premium."""
        timeframes = self.settings.bias_timeframes
        leg = bias[timeframes.index(max(timeframes, key=lambda tf: tf.ms))].dealing_range
        return leg is not None and (not leg.in_premium(entry) if direction > 0 else leg.in_premium(entry))

    def _entry_zone(
        self, state: DetectorState, records: list, direction: int, since: int, now: int
    ) -> FairValueGap | OrderBlock | None:
        allowed = self.settings.entry_zone
        if allowed in ("fvg", "fvg_or_ob"):
            gaps = [
                g
                for g in recent_gaps(state, since)
                if g.direction == direction and g.formed_at >= since and g.known_at <= now and g.filled_at is None
            ]
            if gaps:
                return max(gaps, key=lambda g: g.known_at)
        if allowed in ("ob", "fvg_or_ob"):
            blocks = [
                r for r in records if isinstance(r, OrderBlock) and r.direction == direction and r.known_at == now
            ]
            if blocks:
                return blocks[-1]
        return None

    def _target(self, state: DetectorState, direction: int, entry: float, risk: float) -> tuple[float | None, str]:
        s = self.settings
        if s.target == "liquidity":
            levels: list[LiquidityLevel | Swing] = [
                lvl for lvl in resting_levels(state, direction) if lvl.direction == direction
            ]
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
