"""The manual clock is what makes every timing rule testable: it must wake sleepers exactly when time passes them."""

from __future__ import annotations

import asyncio
import time

from ictbot.kernel.clock import ManualClock, WallClock

from .stages import START_MS


async def test_manual_clock_wakes_each_sleeper_at_its_deadline_in_order(clock: ManualClock) -> None:
    woke: list[tuple[str, int]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now_ms()))

    tasks = [asyncio.create_task(sleeper("late", 3)), asyncio.create_task(sleeper("early", 1.5))]
    await clock.advance(1.499)
    assert woke == []
    assert clock.sleeping == 2

    await clock.advance(10)
    assert woke == [("early", START_MS + 1500), ("late", START_MS + 3000)]
    assert clock.now_ms() == START_MS + 11_499
    await asyncio.gather(*tasks)


async def test_manual_clock_lets_a_woken_task_sleep_again_within_one_advance(clock: ManualClock) -> None:
    ticks: list[int] = []

    async def ticker() -> None:
        while True:
            await clock.sleep(1)
            ticks.append(clock.now_ms() - START_MS)

    task = asyncio.create_task(ticker())
    await clock.advance(3.5)
    task.cancel()
    assert ticks == [1000, 2000, 3000]


async def test_a_cancelled_sleeper_is_not_counted_or_woken(clock: ManualClock) -> None:
    task = asyncio.create_task(clock.sleep(5))
    await clock.advance(0)
    task.cancel()
    await clock.advance(0)
    assert clock.sleeping == 0
    await clock.advance(10)
    assert task.cancelled()


def test_wall_clock_reads_system_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    now = WallClock().now_ms()
    assert before <= now <= time.time_ns() // 1_000_000
