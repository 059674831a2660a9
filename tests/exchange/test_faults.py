"""Each fault knob and what a client sees: through ccxt where it maps the answer, raw where the bytes matter."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from ictbot.exchange import LocalExchange

from .binance_http import call, until
from .conftest import SYMBOL, WARMUP


async def test_latency_makes_impatient_clients_time_out(exchange: LocalExchange) -> None:
    impatient = ccxt_async.binanceusdm(exchange.ccxt_config(timeout=100))
    try:
        exchange.set_latency(400)
        with pytest.raises(ccxt.RequestTimeout):
            await impatient.fetch_time()
        exchange.set_latency(0)
        assert await impatient.fetch_time() > 0
    finally:
        await impatient.close()


async def test_clock_skew_rejects_unsynchronised_timestamps(
    client: ccxt_async.binanceusdm, exchange: LocalExchange
) -> None:
    exchange.set_clock_skew(-30_000)
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        await client.fetch_balance()
    exchange.set_clock_skew(0)
    assert (await client.fetch_balance())["USDT"]["total"] == 10_000


@pytest.mark.parametrize(("status", "error"), [(500, ccxt.OperationFailed), (503, ccxt.ExchangeNotAvailable)])
async def test_server_errors_fail_the_next_requests_only(
    client: ccxt_async.binanceusdm, exchange: LocalExchange, status: int, error: type[Exception]
) -> None:
    exchange.fail_requests(count=1, status=status)
    with pytest.raises(error):
        await client.fetch_balance()
    assert (await client.fetch_balance())["USDT"]["total"] == 10_000


@pytest.mark.parametrize("executed", [True, False])
async def test_unknown_status_answers_503_whether_or_not_the_order_executed(
    client: ccxt_async.binanceusdm, exchange: LocalExchange, executed: bool
) -> None:
    exchange.unknown_status(executed=executed)
    with pytest.raises(ccxt.RequestTimeout, match="execution status unknown"):
        await client.create_order(SYMBOL, "market", "buy", 0.01, params={"clientOrderId": "maybe-1"})
    if executed:
        order = await client.fetch_order(None, SYMBOL, params={"origClientOrderId": "maybe-1"})
        assert (order["status"], order["filled"]) == ("closed", 0.01)
    else:
        with pytest.raises(ccxt.OrderNotFound):
            await client.fetch_order(None, SYMBOL, params={"origClientOrderId": "maybe-1"})


async def test_throttle_gives_429_then_418(client: ccxt_async.binanceusdm, exchange: LocalExchange) -> None:
    exchange.throttle(count=1)
    first = await call(exchange, "GET", "/fapi/v1/ping")
    second = await call(exchange, "GET", "/fapi/v1/ping")
    assert (first.status, first.code, second.status, second.code) == (429, -1003, 418, -1003)
    with pytest.raises(ccxt.DDoSProtection):
        await client.fetch_time()
    exchange.lift_limits()
    assert await client.fetch_time() > 0


async def test_ban_answers_418(exchange: LocalExchange) -> None:
    exchange.ban(seconds=60)
    answer = await call(exchange, "GET", "/fapi/v1/time")
    assert answer.status == 418 and answer.body["msg"].startswith("Way too many requests; IP banned until")


async def test_rejects_refuse_valid_orders(client: ccxt_async.binanceusdm, exchange: LocalExchange) -> None:
    exchange.reject_orders(count=1, code=-2010)
    with pytest.raises(ccxt.InvalidOrder, match="NEW_ORDER_REJECTED"):
        await client.create_order(SYMBOL, "market", "buy", 0.01)
    assert (await client.create_order(SYMBOL, "market", "buy", 0.01))["status"] == "closed"


async def test_partial_fills(client: ccxt_async.binanceusdm, exchange: LocalExchange) -> None:
    exchange.partial_fills("0.5")
    market = await client.create_order(SYMBOL, "market", "buy", 0.01)
    assert (market["status"], market["filled"]) == ("expired", 0.005)
    taker = await client.create_order(
        SYMBOL, "limit", "buy", 0.01, round(float(exchange.engine.mark("BTCUSDT")) * 1.01, 1)
    )
    assert (taker["status"], taker["filled"], taker["remaining"]) == ("open", 0.005, 0.005)
    assert taker["info"]["status"] == "PARTIALLY_FILLED"


async def test_dropped_websocket_fails_the_pending_watch(pro: ccxt_pro.binanceusdm, exchange: LocalExchange) -> None:
    watcher = asyncio.create_task(pro.watch_ohlcv(SYMBOL, "1m"))
    await until(lambda: exchange.hub.has_subscribers("btcusdt@kline_1m"))
    assert exchange.drop_websockets() == 1
    with pytest.raises(ccxt.NetworkError):
        await watcher


async def test_stalled_websocket_loses_the_events_in_between(exchange: LocalExchange) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{exchange.ws_url}/market/ws/btcusdt@kline_1m") as ws,
    ):
        exchange.stall_websockets(True)
        await exchange.advance(2)
        exchange.stall_websockets(False)
        await exchange.advance(1)
        first = json.loads((await ws.receive(timeout=5)).data)
    assert first["k"]["t"] == int(exchange.replay.feeds["BTCUSDT"].frame.open_time[WARMUP + 2])


async def test_listen_key_expiry_is_pushed_and_keepalive_fails(exchange: LocalExchange) -> None:
    key = (await call(exchange, "POST", "/fapi/v1/listenKey")).body["listenKey"]
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{exchange.ws_url}/private/ws?listenKey={key}") as ws,
    ):
        assert exchange.expire_listen_key()
        event = json.loads((await ws.receive(timeout=5)).data)
    assert (event["e"], event["listenKey"]) == ("listenKeyExpired", key)
    assert (await call(exchange, "PUT", "/fapi/v1/listenKey")).code == -1125


async def test_admin_endpoint_turns_the_same_knobs(exchange: LocalExchange) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{exchange.rest_url}/admin/fail_requests", json={"status": 502}) as response:
            assert response.status == 200
        assert (await call(exchange, "GET", "/fapi/v1/ping")).status == 502
        async with session.post(f"{exchange.rest_url}/admin/advance", json={"candles": 3}) as response:
            assert (await response.json())["result"] == 3
        async with session.get(f"{exchange.rest_url}/admin/state") as response:
            state = await response.json()
    assert state["now"] == int(exchange.replay.feeds["BTCUSDT"].frame.open_time[WARMUP + 3])
