"""A manual clock that also remembers what was asked of it: a test drives time and checks each wait's length."""

from __future__ import annotations

from ictbot.kernel.clock import ManualClock


class AskedClock(ManualClock):
    """``ManualClock`` recording every wait asked of it, in order (``asked``)."""

    def __init__(self, start_ms: int = 0) -> None:
        super().__init__(start_ms)
        self.asked: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        await super().sleep(seconds)
