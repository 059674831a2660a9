"""A lockstep replay whose bot stops answering ends the run with the reason, instead of hanging or trading on."""

from __future__ import annotations

import asyncio

import pytest

from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.exchange.lockstep import LockstepTimeout
from ictbot.storage import open_recorder


async def test_a_replay_whose_bot_stops_taking_candles_fails_with_the_reason(data_dir, tmp_path):
    path = tmp_path / "BTCUSDT-1m.parquet"
    write_parquet(load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, 2000), path)
    settings = load_settings(
        replay={"speed": 600, "warmup": 1000, "data": [str(path)], "lockstep": True, "lockstep_timeout_s": 0.5},
        data_dir=str(tmp_path / "data"),
        api={"enabled": False},
    )
    engine = build_engine(settings, open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}"))
    run = asyncio.create_task(engine.run(asyncio.Event()))
    await asyncio.wait_for(engine.ready.wait(), 60)
    engine.exchange.stall_websockets()  # connections stay open, nothing reaches the bot: it never catches up
    with pytest.raises(LockstepTimeout, match=r"the bot did not finish reacting to it within 0\.5 s"):
        await asyncio.wait_for(run, 60)
    assert not engine.exchange.replay.finished
