"""One page of round trips merged from two sources: the open ones in memory and the closed ones in the database.

A bot that has run for months holds many thousands of closed trades; a page deep in the history must not load all
the newer ones to find its place. Only the few open trades can sit between closed ones, so a page needs at most
``len(open_trades)`` more closed rows than it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar


class _Entered(Protocol):
    @property
    def entry_time(self) -> int: ...


T = TypeVar("T", bound=_Entered)


def newest_first_page(
    open_trades: Sequence[T], read_closed: Callable[[int, int], Sequence[T]], offset: int, limit: int
) -> list[T]:
    """Items ``offset … offset + limit - 1`` of the open and closed trades sorted newest entry first, an open trade
    before a closed one entered at the same time.

    ``read_closed(start, count)`` returns up to ``count`` closed trades from index ``start`` of their own newest-first
    order; it is called once, for at most ``limit + len(open_trades)`` rows.
    """
    opened = sorted(open_trades, key=lambda t: t.entry_time, reverse=True)
    start = max(0, offset - len(opened))
    wanted = offset + limit - start
    window = list(read_closed(start, wanted))
    full = len(window) == wanted
    placed: list[tuple[int, int, T]] = []
    for rank, trade in enumerate(opened):
        # Closed trades before the window are at least as new as its first, those after a full one at most as new as
        # its last: an open trade outside the window's span has its place outside this page.
        if start > 0 and (not window or trade.entry_time >= window[0].entry_time):
            continue
        if full and trade.entry_time < window[-1].entry_time:
            continue
        newer_closed = sum(1 for c in window if c.entry_time > trade.entry_time)
        placed.append((rank + start + newer_closed, 0, trade))
    for position, trade in enumerate(window):
        newer_open = sum(1 for o in opened if o.entry_time >= trade.entry_time)
        placed.append((start + position + newer_open, 1, trade))
    return [trade for index, _, trade in sorted(placed, key=lambda p: p[:2]) if offset <= index < offset + limit]
