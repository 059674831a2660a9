"""The files ``ictbot strategy new`` writes: a working, commented strategy and a test that checks it."""

from __future__ import annotations

_STRATEGY = '''"""{title}: after liquidity is swept in a killzone, enter the retrace into the gap the reversal leaves.

Written with ``ictbot strategy new``. Check it with ``ictbot strategy check --path {path}``, backtest and replay it
with ``strategy: {{path: {path}}}`` in your config (paths relative to where you start ``ictbot``). The guide:
docs/strategies.md.
"""

from __future__ import annotations

import copy
from typing import Annotated

from pydantic import Field

from ictbot.sdk import Context, FairValueGap, SearchRange, Side, Signal, Strategy, StrategySettings, Timeframe, Wake


class {cls}Settings(StrategySettings):
    """Every field is a setting under `strategy:` in the config; bad values fail at startup with the field named.

    Fields typed ``Timeframe`` are the timeframes the strategy reads: the candle book builds exactly those.
    ``SearchRange`` / ``SearchChoice`` tell the optimiser where it may look; the default is what runs otherwise.
    """

    entry_timeframe: Timeframe = Timeframe.M5
    sweep_within: Annotated[int, SearchRange(2, 24, step=1)] = Field(
        6, ge=1, le=200, description="entry candles a sweep stays fresh (candles)"
    )
    reward_risk: Annotated[float, SearchRange(1.0, 4.0, step=0.25)] = Field(
        2.0, gt=0, description="target distance as a multiple of the stop distance (R)"
    )
    order_ttl_candles: int = Field(6, ge=1, description="an unfilled entry is cancelled after this many candles")


class {cls}(Strategy[{cls}Settings]):
    """Sweep inside a killzone, then a fair value gap in the reversal's direction: limit entry at the gap."""

    name = "{name}"
    Settings = {cls}Settings

    def wake(self) -> list[Wake]:
        # A promise to the backtest: signals only come on entry candles where a gap becomes known. Live, and in
        # `ictbot strategy check`'s stepwise run, every candle is seen, so a wrong promise is caught.
        return [Wake(self.settings.entry_timeframe, "fvg")]

    def on_candle(self, ctx: Context) -> list[Signal]:
        s = self.settings
        if ctx.timeframe is not s.entry_timeframe:
            return []
        ict = ctx.ict()  # every detector of the entry timeframe, as of this candle's close
        if ict.killzone is None:
            return []
        now = ctx.candle.open_time
        new_gaps = [r for r in ict.records if isinstance(r, FairValueGap) and r.known_at == now]
        sweeps = ict.sweeps(within=s.sweep_within)
        signals = []
        for gap in new_gaps:
            same_way = [sw for sw in sweeps if sw.direction == gap.direction]
            if not same_way:
                continue
            sweep = same_way[-1]
            side = Side.BUY if gap.direction > 0 else Side.SELL
            entry = gap.top if side is Side.BUY else gap.bottom
            stop = sweep.extreme  # beyond the liquidity that was taken
            risk = (entry - stop) * side.sign
            if risk <= 0:
                continue
            signals.append(
                ctx.limit(
                    side,
                    entry,
                    stop,
                    entry + side.sign * s.reward_risk * risk,
                    reason=f"{{ict.killzone}} sweep → FVG",
                    ttl_candles=s.order_ttl_candles,
                    evidence=(sweep.evidence, copy.copy(gap)),  # a snapshot: records evolve
                )
            )
        return signals
'''

_TEST = '''"""Conformance of {name}: `pip install pytest` (ictbot does not bring it), then `pytest {test_path}`."""

from pathlib import Path

from ictbot.config import load_settings
from ictbot.data.loaders import load_candles
from ictbot.sample import sample_path
from ictbot.strategy_tools import check_strategy

STRATEGY = Path(__file__).with_name("{name}.py")


def test_{name}_passes_the_conformance_kit():
    frame = load_candles(sample_path())
    settings = load_settings(symbols=[frame.symbol], strategy={{"path": str(STRATEGY)}})
    failed = [f"{{c.name}}: {{c.detail}}" for c in check_strategy(settings, [frame]) if not c.passed]
    assert not failed, failed
'''


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part) or "MyStrategy"


def strategy_source(name: str, path: str) -> str:
    """The strategy ``name``, its docstring naming ``path``, where it is written, as the user will type it."""
    title = name.replace("_", " ").capitalize()
    return _STRATEGY.format(name=name, cls=_class_name(name), title=title, path=path)


def strategy_test_source(name: str, test_path: str) -> str:
    return _TEST.format(name=name, test_path=test_path)
