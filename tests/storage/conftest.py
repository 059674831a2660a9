"""Recorder fixtures: a real database per test, on SQLite and on PostgreSQL, and a hand-driven clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ictbot.storage import Recorder, open_recorder

from .records import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def db_url(database_url) -> str:
    return database_url


@pytest.fixture
def recorder(db_url, clock) -> Iterator[Recorder]:
    recorder = open_recorder(db_url, clock)
    yield recorder
    recorder.engine.dispose()
