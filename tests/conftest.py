"""Shared fixtures: the repository's copies of real Binance data, and the databases the recorder runs on."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ictbot.event_loop import new_event_loop
from pgserver import PostgresServer, postgres_bindir

DATA = Path(__file__).parent / "data"
BACKENDS = ["sqlite", "postgresql"]
# CI sets this so that a PostgreSQL that failed to install fails the run instead of skipping half the storage tests.
REQUIRE_POSTGRES = "ICTBOT_TEST_POSTGRES"
# The tests' databases, logs and throwaway PostgreSQL live in memory where the machine has /dev/shm: every commit's
# fsync on a busy disk cost a replay-driven test minutes. The tests kill processes, never the machine, and a killed
# process's writes survive in the page cache on either, so what they prove is the same.
SHARED_MEMORY = Path("/dev/shm")
if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK):
    tempfile.tempdir = str(SHARED_MEMORY)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


def pytest_asyncio_loop_factories(config, item):
    """Every async test runs on the event loop the bot runs on (uvloop where it exists)."""
    return {"bot_loop": new_event_loop}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session (see ``tests/pgserver.py``)."""
    bindir = postgres_bindir()
    if bindir is None:
        message = "PostgreSQL's server is not installed (Debian: apt-get install postgresql)"
        if os.environ.get(REQUIRE_POSTGRES) == "required":
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """A fresh, empty database on each backend the recorder supports: a SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'ictbot.sqlite'}"
    return request.getfixturevalue("postgres_server").new_database()
