"""``IctState``: every detector for one symbol × timeframe, fed one closed candle at a time.

This is what a strategy holds: ``update(candle)`` returns the records that became known or changed at that candle
(new ones have ``known_at == candle.open_time``), and the accessors give the current picture — trend, dealing range,
active zones, resting liquidity, the current killzone.
"""

from __future__ import annotations

from ictbot.domain import Candle, Timeframe
from ictbot.ict._inputs import check_candle
from ictbot.ict.config import IctConfig
from ictbot.ict.fvg import FvgDetector
from ictbot.ict.liquidity import LiquidityDetector
from ictbot.ict.order_blocks import OrderBlockDetector
from ictbot.ict.records import BreakerBlock, FairValueGap, LiquidityLevel, OrderBlock, Record, Swing
from ictbot.ict.sessions import SessionDetector
from ictbot.ict.structure import DealingRange, StructureDetector


class IctState:
    """All ICT detectors for one symbol × timeframe; identical to ``detect_all`` over the same candles."""

    __slots__ = ("_last_open_time", "config", "fvg", "liquidity", "order_blocks", "sessions", "structure")

    def __init__(self, timeframe: Timeframe | int, config: IctConfig | None = None) -> None:
        cfg = config or IctConfig()
        tf_ms = timeframe.ms if isinstance(timeframe, Timeframe) else int(timeframe)
        self.config = cfg
        self.structure = StructureDetector(cfg.swing_left, cfg.swing_right, cfg.break_on)
        self.fvg = FvgDetector(
            cfg.fvg_min_size, cfg.fvg_min_atr_fraction, cfg.atr_period, cfg.fvg_require_middle_direction,
            cfg.fvg_invalidate_on, cfg.max_age,
        )  # fmt: skip
        self.order_blocks = OrderBlockDetector(cfg.ob_anchor, cfg.ob_zone, cfg.ob_invalidate_on, cfg.max_age)
        self.liquidity = LiquidityDetector(tf_ms, cfg.eq_fraction, cfg.eq_atr_fraction, cfg.atr_period, cfg.max_age)
        self.sessions = SessionDetector(tf_ms, cfg.killzones)
        self._last_open_time: int | None = None

    def update(self, candle: Candle) -> list[Record]:
        """Advance every detector by one closed candle; raises ``DataError`` (state unchanged) on a bad candle."""
        check_candle(candle, self._last_open_time)
        self._last_open_time = candle.open_time
        previous_swing = self.structure.swings.last
        breaks = self.structure.update(candle)
        swings = self.structure.new_swings
        for swing in swings:
            self.order_blocks.forget_sources(swing)
        out: list[Record] = [*swings, *breaks]
        if previous_swing is not None and previous_swing.superseded_at == candle.open_time:
            out.append(previous_swing)
        out += self.fvg.update(candle)
        out += self.fvg.changed
        out += self.order_blocks.update(candle, breaks, self.structure.origins)
        out += self.order_blocks.changed
        out += self.liquidity.update(candle, swings)
        out += self.liquidity.changed
        out += self.sessions.update(candle)
        return out

    @property
    def trend(self) -> int:
        """+1 after a bullish break, −1 after a bearish one, 0 before the first."""
        return self.structure.trend

    @property
    def dealing_range(self) -> DealingRange | None:
        return self.structure.dealing_range

    @property
    def swing_high(self) -> Swing | None:
        return self.structure.swing_high

    @property
    def swing_low(self) -> Swing | None:
        return self.structure.swing_low

    @property
    def fvgs(self) -> list[FairValueGap]:
        """Gaps not yet invalidated."""
        return self.fvg.active

    @property
    def active_order_blocks(self) -> list[OrderBlock]:
        return [z for z in self.order_blocks.active if isinstance(z, OrderBlock)]

    @property
    def breakers(self) -> list[BreakerBlock]:
        return [z for z in self.order_blocks.active if isinstance(z, BreakerBlock)]

    @property
    def liquidity_levels(self) -> list[LiquidityLevel]:
        """Levels neither swept nor broken."""
        return self.liquidity.active

    @property
    def killzone(self) -> str | None:
        """The killzone of the last candle, if any."""
        return self.sessions.current
