"""How long each position stood without a stop, measured by the venue itself (wall seconds).

A position is protected while a STOP_MARKET of the closing side rests on its symbol that closes the whole position, or
is reduce-only for at least the position's size (a moved stop). The engine calls :meth:`ProtectionWatch.check` after
every change to positions and algo orders; each stretch without such a stop, from the position's opening (or its
stop's end) to a stop's placement (or the position's close), is a gap. The fault matrix (``bench/fault_summary.py``)
reads the longest gap: the bot's promise is that none outlasts ``execution.max_unprotected_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ictbot.exchange.records import AlgoOrder, Position

ZERO, INFINITE = Decimal(0), Decimal("Infinity")


@dataclass
class ProtectionWatch:
    clock: Callable[[], float] = time.monotonic
    gaps: list[float] = field(default_factory=list)  # finished stretches without a stop, seconds
    _since: dict[tuple[str, str], float] = field(default_factory=dict)  # position → start of its current gap

    def check(self, positions: Iterable[Position], algos: Iterable[AlgoOrder]) -> None:
        now = self.clock()
        stops: dict[tuple[str, str], Decimal] = {}  # (symbol, closing side) → quantity covered
        for a in algos:
            if a.is_open and a.order_type == "STOP_MARKET" and (a.close_position or a.reduce_only):
                key = (a.symbol, a.side)
                stops[key] = max(stops.get(key, ZERO), INFINITE if a.close_position else a.quantity)
        open_now = set()
        for p in positions:
            if not p.amount:
                continue
            key = (p.symbol, p.side)
            open_now.add(key)
            protected = stops.get((p.symbol, "SELL" if p.amount > 0 else "BUY"), ZERO) >= abs(p.amount)
            if protected and key in self._since:
                self.gaps.append(now - self._since.pop(key))
            elif not protected and key not in self._since:
                self._since[key] = now
        for key in [k for k in self._since if k not in open_now]:  # closed while unprotected
            self.gaps.append(now - self._since.pop(key))

    def longest_s(self) -> float:
        """The longest stretch without a stop so far, counting the ones still running."""
        now = self.clock()
        return max([*self.gaps, *(now - since for since in self._since.values())], default=0.0)

    def reset(self) -> None:
        self.gaps.clear()
        self._since.clear()
