"""A real bot for the API tests: the engine in replay mode on real BTCUSDT candles, the local exchange, a SQLite file,
and the API on an ephemeral loopback port. The bot stays up when its replay ends (``replay.stop_at_end`` off): on a
slow machine the exchange has sent its last candle long before the bot has traded, and a stopped bot answers nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from botkit import TOKEN

from ictbot.config import Settings, load_settings
from ictbot.data.loaders import load_candles, write_parquet


@pytest.fixture(scope="session")
def btc_days(data_dir, tmp_path_factory):
    """Real BTCUSDT 1m candles around its first trades (2025-05-08), as a replay file: 600 for warm-up, then 1400."""
    frame = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(5000, 7000)
    path = tmp_path_factory.mktemp("replay") / "BTCUSDT-1m-2025-05-08.parquet"
    write_parquet(frame, path)
    return path


@pytest.fixture
def make_settings(btc_days, tmp_path) -> Callable[..., Settings]:
    def make(speed: float = 60_000, api: dict | None = None, execution: dict | None = None, **extra) -> Settings:
        return load_settings(
            replay={"speed": speed, "warmup": 600, "data": [str(btc_days)], "stop_at_end": False},
            strategy={"name": "fvg_retrace"},
            data_dir=str(tmp_path / "data"),
            database_url=f"sqlite:///{tmp_path / 'bot.sqlite'}",
            api={"port": 0, "token": TOKEN, **(api or {})},
            # the paper account unless a test trades on the venue: trades settle on the candle that makes them
            execution=execution or {"broker": "simulated"},
            **extra,
        )

    return make
