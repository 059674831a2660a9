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
