"""Shared fixtures: the repository's copies of real Binance data."""

from __future__ import annotations

from pathlib import Path

import pytest

from ictbot.event_loop import new_event_loop

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def pytest_asyncio_loop_factories(config, item):
    """Every async test runs on the event loop the bot runs on (uvloop where it exists)."""
    return {"bot_loop": new_event_loop}
