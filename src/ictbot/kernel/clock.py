"""The clock every timing rule reads, so those rules can be tested without real waiting.

The supervisor's backoff, heartbeat deadlines, stream freshness, the once-a-minute heartbeat line and the order
manager's settle and protection deadlines all take their time from a ``Clock``: ``WallClock`` in production,
``ManualClock`` in tests (time moves only when a test advances it).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol

#: Event-loop turns ``ManualClock`` grants after each wake-up, so woken tasks run up to their next sleep.
_SETTLE_TURNS = 20


class Clock(Protocol):
    """Time in UTC epoch milliseconds and a way to wait on it."""

    def now_ms(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """The real clock: system time and ``asyncio.sleep``."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when ``advance`` is awaited; sleepers wake in deadline order as time passes them."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now_ms = start_ms
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now_ms(self) -> int:
        return self._now_ms

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now_ms + round(seconds * 1000), next(self._order), wake))
        await wake

    @property
    def sleeping(self) -> int:
        """How many tasks are waiting on this clock."""
        return sum(1 for _, _, wake in self._sleepers if not wake.done())

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own deadline and letting it run before time moves on."""
        target = self._now_ms + round(seconds * 1000)
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, wake = heapq.heappop(self._sleepers)
            if wake.done():
                continue
            self._now_ms = max(self._now_ms, deadline)
            wake.set_result(None)
            await settle()
        self._now_ms = target
        await settle()


async def settle() -> None:
    """Give the event loop enough turns for every ready task to reach its next wait."""
    for _ in range(_SETTLE_TURNS):
        await asyncio.sleep(0)
