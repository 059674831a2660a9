"""A started engine, and waiting for what a test can observe rather than for a fixed time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from ictbot.runtime.engine import Engine

#: How often a wait looks at its condition; short, so a wait ends soon after the state it waits for.
POLL_S = 0.02


async def until(predicate: Callable[[], bool], seconds: float = 60.0, what: str = "condition") -> None:
    """Return once ``predicate()`` holds; fail the test when it still does not after ``seconds`` of real time."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {seconds:.0f} s")
        await asyncio.sleep(POLL_S)


@contextlib.asynccontextmanager
async def running(engine: Engine, seconds: float = 60.0) -> AsyncIterator[Engine]:
    """``engine`` started and ready; stopped, and its run awaited, on exit (each step bounded by ``seconds``)."""
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        ready = asyncio.create_task(engine.ready.wait())
        done, _ = await asyncio.wait({ready, task}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task in done:
            task.result()  # the run ended before it was ready: its error fails the test
            raise AssertionError("the engine stopped before it was ready")
        if not done:
            raise AssertionError(f"the engine was not ready within {seconds:.0f} s")
        yield engine
    finally:
        stop.set()
        await asyncio.wait_for(task, seconds)
