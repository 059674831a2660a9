"""The venue measures how long each position stood without a close-position stop, gaps included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from ictbot.domain import Side
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueClient


@pytest.fixture
async def venue(exchange: LocalExchange) -> AsyncIterator[VenueClient]:
    client = VenueClient(exchange.ccxt_config())
    await client.start()
    yield client
    await client.close()


async def test_every_stretch_without_a_stop_is_measured_from_open_to_stop_and_stop_to_close(
    exchange: LocalExchange, venue: VenueClient
) -> None:
    now = [100.0]
    exchange.engine.protection.clock = lambda: now[0]
    mark = exchange.engine.mark("BTCUSDT")
    stop = (mark * Decimal("0.95")).quantize(Decimal("0.1"))

    await venue.place_order("BTCUSDT", Side.BUY, "MARKET", Decimal("0.002"), client_order_id="entry")
    now[0] += 3.0  # three seconds without a stop
    await venue.place_algo_order("BTCUSDT", Side.SELL, "STOP_MARKET", stop, client_algo_id="sl", close_position=True)
    now[0] += 50.0  # protected: not a gap
    await venue.cancel_algo_order("BTCUSDT", "sl")
    now[0] += 1.5  # the stop is gone, the position is not
    await venue.place_order("BTCUSDT", Side.SELL, "MARKET", Decimal("0.002"), client_order_id="exit", reduce_only=True)
    now[0] += 10.0  # flat: nothing to protect

    assert exchange.engine.protection.gaps == [3.0, 1.5]
    assert exchange.engine.protection.longest_s() == 3.0
    async with aiohttp.ClientSession() as http, http.get(f"{exchange.rest_url}/admin/state") as answer:
        assert (await answer.json())["longestUnprotectedS"] == 3.0


async def test_a_position_still_without_a_stop_counts_its_running_gap(
    exchange: LocalExchange, venue: VenueClient
) -> None:
    now = [0.0]
    exchange.engine.protection.clock = lambda: now[0]
    await venue.place_order("BTCUSDT", Side.BUY, "MARKET", Decimal("0.002"), client_order_id="entry")
    now[0] = 7.0
    assert exchange.engine.protection.gaps == [] and exchange.engine.protection.longest_s() == 7.0


async def test_a_reduce_only_stop_protects_only_as_much_as_it_covers(
    exchange: LocalExchange, venue: VenueClient
) -> None:
    """A moved stop is reduce-only for a quantity: it protects the position while it covers all of it."""
    now = [0.0]
    exchange.engine.protection.clock = lambda: now[0]
    stop = (exchange.engine.mark("BTCUSDT") * Decimal("0.95")).quantize(Decimal("0.1"))
    await venue.place_order("BTCUSDT", Side.BUY, "MARKET", Decimal("0.004"), client_order_id="entry")
    await venue.place_algo_order(
        "BTCUSDT", Side.SELL, "STOP_MARKET", stop, client_algo_id="short", quantity=Decimal("0.002"), reduce_only=True
    )
    now[0] = 2.0  # half covered is not protected
    await venue.place_algo_order(
        "BTCUSDT", Side.SELL, "STOP_MARKET", stop, client_algo_id="all", quantity=Decimal("0.004"), reduce_only=True
    )
    now[0] = 30.0  # covered
    await venue.place_order("BTCUSDT", Side.BUY, "MARKET", Decimal("0.002"), client_order_id="more")
    now[0] = 34.0  # the position grew past the stop's quantity

    assert exchange.engine.protection.gaps == [2.0]
    assert exchange.engine.protection.longest_s() == 4.0
