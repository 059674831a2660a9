"""Startup problems that would leave the bot useless stop `ictbot run` at once with one line naming the setting to
change, before any order reaches the venue: a live bot (a subprocess) against the local exchange (this process)."""

import asyncio
import os
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
import yaml

from ictbot.exchange import LocalExchange
from ictbot.storage import open_recorder

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
async def exchange():
    async with LocalExchange.from_files([DATA / "BTC_USDT_USDT-1m-futures.feather"], warmup=300) as venue:
        venue.start_clock(600)
        yield venue


async def _run_bot(exchange: LocalExchange, tmp_path: Path, **settings: object) -> tuple[int, str, str]:
    """``ictbot run`` in live mode on the local exchange; returns (exit code, stdout, stderr)."""
    config = {
        "mode": "live",
        "symbols": ["BTCUSDT"],
        "venue": {"testnet": True, "rest_url": exchange.rest_url, "ws_url": exchange.ws_url},
        "data_dir": str(tmp_path / "data"),
        "database_url": f"sqlite:///{tmp_path / 'bot.sqlite'}",
        "api": {"port": 0},
        **settings,
    }
    path = tmp_path / "bot.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "ICTBOT_VENUE__API_KEY": exchange.credentials.api_key,
        "ICTBOT_VENUE__API_SECRET": exchange.credentials.api_secret,
    }
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ictbot", "run", "--config", str(path), "--duration", "60",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(bot.communicate(), 120)
    assert bot.returncode is not None
    return bot.returncode, out.decode(), err.decode()


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _assert_refused(code: int, stderr: str, exchange: LocalExchange) -> str:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    [line] = _error_lines(stderr)
    assert exchange.engine.orders == {} and exchange.engine.open_algos() == []
    return line


async def test_a_taken_api_port_stops_startup_naming_api_port(exchange, tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        code, _, stderr = await _run_bot(exchange, tmp_path, api={"port": port})
    finally:
        taken.close()
    line = _assert_refused(code, stderr, exchange)
    assert f"api.port {port} on 127.0.0.1 cannot be used" in line
    assert "api.port: 0 for any free one" in line


async def test_a_data_dir_that_cannot_be_written_stops_startup_naming_data_dir(exchange, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, stderr = await _run_bot(exchange, tmp_path, data_dir=str(blocker / "data"))
    line = _assert_refused(code, stderr, exchange)
    assert f"data_dir {blocker / 'data'} is not writable" in line
    assert "set data_dir (ICTBOT_DATA_DIR)" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not stop root from writing")
async def test_a_read_only_data_dir_stops_startup_naming_data_dir(exchange, tmp_path):
    read_only = tmp_path / "read-only"
    read_only.mkdir(mode=0o500)
    code, _, stderr = await _run_bot(exchange, tmp_path, data_dir=str(read_only))
    assert "is not writable" in _assert_refused(code, stderr, exchange)


async def test_a_locked_database_stops_startup_naming_database_url(exchange, tmp_path):
    database = tmp_path / "bot.sqlite"
    open_recorder(f"sqlite:///{database}")
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, _, stderr = await _run_bot(exchange, tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    line = _assert_refused(code, stderr, exchange)
    assert f"database_url sqlite:///{database} is locked by another process" in line
    assert "its own database_url" in line


async def test_a_file_that_is_not_a_database_stops_startup_naming_database_url(exchange, tmp_path):
    database = tmp_path / "notes.txt"
    database.write_text("these are my notes, not a database\n" * 100)
    code, _, stderr = await _run_bot(exchange, tmp_path, database_url=f"sqlite:///{database}")
    line = _assert_refused(code, stderr, exchange)
    assert f"database_url sqlite:///{database} is not a usable SQLite database" in line
    assert database.read_text().startswith("these are my notes")
