"""Waiting with a deadline on a ``Clock``, so a stage's timeouts move with the clock it runs on (a replay's market
time, a test's manual clock) and never read the wall clock behind its back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from ictbot.kernel.clock import Clock

T = TypeVar("T")


async def wait_for(awaitable: Awaitable[T], clock: Clock, seconds: float) -> T:
    """``asyncio.wait_for`` on ``clock``: the awaitable's result, or ``TimeoutError`` (the awaitable cancelled) once
    ``seconds`` have passed on ``clock`` first."""
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not task.done():
            task.cancel()
    if not task.done() or task.cancelled():
        raise TimeoutError(f"nothing within {seconds:g} s on the clock")
    return task.result()
