"""Runtime fixtures: a manual clock starting on a real minute boundary, and a supervisor stopped after each test."""

from __future__ import annotations

import pytest

from ictbot.kernel.clock import ManualClock
from ictbot.runtime import Supervisor

from .stages import START_MS


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
async def supervisor(clock: ManualClock):
    supervisor = Supervisor(clock)
    yield supervisor
    await supervisor.stop()
