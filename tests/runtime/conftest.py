"""Runtime fixtures: a manual clock starting on a real minute boundary, and a supervisor stopped after each test."""

from __future__ import annotations

import pytest

from ictbot.runtime import ManualClock, Supervisor

from .stages import START_MS


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
async def supervisor(clock: ManualClock):
    supervisor = Supervisor(clock)
    yield supervisor
    await supervisor.stop()
