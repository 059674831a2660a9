"""``ictbot flatten`` without a running bot: straight to the venue, and the halt outlives the process."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from ictbot.config import load_settings
from ictbot.domain import Side
from ictbot.errors import ConfigError
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueClient
from ictbot.execution.flatten import flatten_venue
from ictbot.storage import EventKind, open_recorder

from .harness import live_settings, venue_state


async def test_flatten_closes_every_position_cancels_every_order_and_records_the_halt(
    exchange: LocalExchange, tmp_path: Path
) -> None:
    client = VenueClient(exchange.ccxt_config())
    await client.start()
    await client.place_order("BTCUSDT", Side.BUY, "MARKET", Decimal("0.002"), client_order_id="ict-a")
    await client.place_order("ETHUSDT", Side.SELL, "MARKET", Decimal("0.05"), client_order_id="manual-b")
    far = (exchange.engine.mark("BTCUSDT") * Decimal("0.9")).quantize(Decimal("0.1"))
    await client.place_order("BTCUSDT", Side.BUY, "LIMIT", Decimal("0.002"), price=far, client_order_id="ict-c")
    await client.place_algo_order(
        "BTCUSDT", Side.SELL, "STOP_MARKET", far, client_algo_id="ict-a-sl", close_position=True
    )
    await client.close()
    settings = live_settings(
        exchange, ["BTCUSDT"], execution={"unknown_order_settle_s": 0.05}, data_dir=str(tmp_path / "data")
    )
    recorder = open_recorder(f"sqlite:///{tmp_path / 'db.sqlite'}")

    done = await flatten_venue(settings, recorder)

    assert done == {"BTCUSDT": "closed 0.002", "ETHUSDT": "closed -0.050"}
    venue = venue_state(exchange)
    assert (venue["open"], venue["open_algos"], venue["positions"]) == (set(), {}, {})
    [state] = recorder.events(kind=EventKind.TRADING_STATE, limit=1)
    assert state.detail.startswith("HALTED") and state.source == "cli"
    closes = [f for f in recorder.fills(limit=10) if f.client_order_id.startswith("ict-close-")]
    assert sorted(f.symbol for f in closes) == ["BTCUSDT", "ETHUSDT"]


async def test_flatten_refuses_an_account_that_lives_inside_the_bot(tmp_path: Path) -> None:
    recorder = open_recorder(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(ConfigError, match="inside the running bot"):
        await flatten_venue(load_settings(mode="replay"), recorder)
