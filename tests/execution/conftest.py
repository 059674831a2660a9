"""Fixtures: the local exchange replaying real BTCUSDT/ETHUSDT minutes, and a bot on a real database (each test
that takes ``bot`` runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.exchange import LocalExchange

from .harness import DATA, SYMBOLS, Bot


@pytest.fixture(scope="session")
def frames() -> list[CandleFrame]:
    return [load_candles(DATA / f"{s[:3]}_USDT_USDT-1m-futures.feather").slice(0, 900) for s in SYMBOLS]


@pytest.fixture
async def exchange(frames: list[CandleFrame]) -> AsyncIterator[LocalExchange]:
    async with LocalExchange(frames, warmup=300) as ex:
        yield ex


@pytest.fixture
async def bot(exchange: LocalExchange, tmp_path: Path, database_url: str) -> AsyncIterator[Bot]:
    b = Bot(exchange, tmp_path / "ictbot.sqlite", url=database_url)
    yield b
    await b.stop()
