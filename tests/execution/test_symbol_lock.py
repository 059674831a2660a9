"""The order manager's per-symbol lock, which ``submit`` takes without waiting so an entry leaves in the same step."""

from __future__ import annotations

import asyncio

from ictbot.execution.orders import SymbolLock


async def test_a_free_lock_is_taken_at_once() -> None:
    symbol_lock = SymbolLock()
    assert symbol_lock.try_acquire() and symbol_lock.locked()
    assert not symbol_lock.try_acquire()  # held: nothing more is taken
    symbol_lock.release()
    assert not symbol_lock.locked()


async def test_a_lock_others_wait_for_is_not_taken_ahead_of_them() -> None:
    symbol_lock = SymbolLock()
    order: list[str] = []

    async def waiter() -> None:
        async with symbol_lock:
            order.append("waiter")

    assert symbol_lock.try_acquire()
    task = asyncio.create_task(waiter())
    await asyncio.sleep(0)  # the waiter queues behind the holder
    symbol_lock.release()  # free, but promised to the waiter
    assert not symbol_lock.try_acquire()
    await task
    assert order == ["waiter"] and not symbol_lock.locked()
    assert symbol_lock.try_acquire()
