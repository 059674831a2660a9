"""Strategy sources written the way a user writes them, for the plug-in and checker tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

# A small but real ICT strategy: in a killzone, trade the retrace into a gap the entry candle reveals.
KILLZONE_GAP = '''
"""Killzone gap: a fresh fair value gap inside a killzone, entered on the retrace."""

from ictbot.sdk import Context, FairValueGap, SearchRange, Strategy, StrategySettings, Timeframe, Wake
from typing import Annotated


class KillzoneGapSettings(StrategySettings):
    entry_timeframe: Timeframe = Timeframe.M5
    reward_risk: Annotated[float, SearchRange(1.0, 3.0, step=0.5)] = 2.0


class KillzoneGap(Strategy[KillzoneGapSettings]):
    name = "killzone_gap"
    Settings = KillzoneGapSettings

    def wake(self):
        return [Wake(self.settings.entry_timeframe, "fvg")]

    def on_candle(self, ctx: Context):
        ict = ctx.ict()
        if ict.killzone is None:
            return []
        out = []
        for gap in ict.records:
            if isinstance(gap, FairValueGap) and gap.known_at == ctx.candle.open_time:
                side = "BUY" if gap.direction > 0 else "SELL"
                entry, stop = (gap.top, gap.bottom) if gap.direction > 0 else (gap.bottom, gap.top)
                target = entry + (entry - stop) * self.settings.reward_risk
                from ictbot.sdk import Side
                out.append(ctx.limit(Side(side), entry, stop, target, f"{ict.killzone} gap", ttl_candles=6))
        return out
'''


def write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


def install_entry_point(site: Path, package: str, name: str, source: str, class_name: str) -> None:
    """A tiny installed distribution: the package and a dist-info registering it under ``ictbot.strategies``."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(textwrap.dedent(source))
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ictbot.strategies]\n{name} = {package}:{class_name}\n")


# Peeks one candle ahead: in a backtest it reaches into the whole history the framework holds (a private attribute)
# and buys when the next candle closes higher — the bug class of a strategy that reads data it was not given.
PEEKING = """
from ictbot.sdk import Context, Side, Strategy, StrategySettings, Timeframe


class PeekSettings(StrategySettings):
    entry_timeframe: Timeframe = Timeframe.M5


class Peeking(Strategy[PeekSettings]):
    name = "peeking"
    Settings = PeekSettings

    def on_candle(self, ctx: Context):
        streams = getattr(ctx._source, "_streams", None)
        if streams is None:
            return []
        frame = streams[ctx.timeframe].frame
        i = int(frame.open_time.searchsorted(ctx.candle.open_time))
        if i + 1 >= len(frame) or frame.close[i + 1] <= ctx.candle.close * 1.002:
            return []
        c = ctx.candle
        return [ctx.limit(Side.BUY, c.close, c.low * 0.999, c.close + 2 * (c.close - c.low * 0.999), "peek")]
"""

# Draws lots: two runs over the same candles signal differently.
NONDETERMINISTIC = KILLZONE_GAP.replace(
    "        ict = ctx.ict()\n",
    "        import random\n        if random.random() < 0.3:\n            return []\n        ict = ctx.ict()\n",
)

# Promises the backtest that only new gaps can signal, but signals on structure breaks.
WRONG_WAKE = """
from ictbot.sdk import Context, Side, Strategy, StrategySettings, StructureBreak, Timeframe, Wake


class WrongWakeSettings(StrategySettings):
    entry_timeframe: Timeframe = Timeframe.M5


class WrongWake(Strategy[WrongWakeSettings]):
    name = "wrong_wake"
    Settings = WrongWakeSettings

    def wake(self):
        return [Wake(self.settings.entry_timeframe, "fvg")]

    def on_candle(self, ctx: Context):
        out = []
        for brk in ctx.ict().records:
            if isinstance(brk, StructureBreak) and brk.known_at == ctx.candle.open_time:
                side = Side.BUY if brk.direction > 0 else Side.SELL
                stop = brk.level - side.sign * ctx.candle.close * 0.003
                out.append(ctx.limit(side, brk.level, stop, brk.level + 2 * (brk.level - stop), brk.kind))
        return out
"""
