"""Every command runs on uvloop where it exists: asyncio's own loop lets a running bot's heap grow for ever."""

from __future__ import annotations

import asyncio
import sys

import pytest

from ictbot.runtime import loop as event_loop


async def _running_loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
def test_commands_run_on_uvloop():
    assert event_loop.run(_running_loop_module()).startswith("uvloop")


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
async def test_the_test_suite_runs_on_the_bots_loop():
    assert (await _running_loop_module()).startswith("uvloop")


def test_run_returns_the_coroutines_result_and_closes_its_loop():
    loops: list[asyncio.AbstractEventLoop] = []

    async def answer() -> int:
        loops.append(asyncio.get_running_loop())
        return 42

    assert event_loop.run(answer()) == 42
    assert loops[0].is_closed()
