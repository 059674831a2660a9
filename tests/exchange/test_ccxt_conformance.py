"""Conformance through ccxt, unmodified: every unified call parses and matches the replay and the engine."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import ccxt
import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
import pytest

from ictbot.data.frame import CandleFrame
from ictbot.exchange import LocalExchange

from .binance_http import until
from .conftest import SYMBOL, WARMUP


def last_price(ex: LocalExchange) -> float:
    return float(ex.replay.feeds["BTCUSDT"].last_price)


async def test_markets_carry_the_real_filters(client: ccxt_async.binanceusdm) -> None:
    market = client.market(SYMBOL)
    assert market["id"] == "BTCUSDT" and market["swap"] and market["linear"]
    assert market["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
    assert market["limits"]["cost"]["min"] == 100
    assert market["limits"]["market"]["max"] == 120
    assert set(client.symbols) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}


async def test_fetch_ohlcv_matches_the_file(client: ccxt_async.binanceusdm, btc_frame: CandleFrame) -> None:
    candles = await client.fetch_ohlcv(SYMBOL, "1m", limit=11)
    closed = candles[:-1]
    assert [c[0] for c in closed] == btc_frame.open_time[WARMUP - 10 : WARMUP].tolist()
    assert [c[2] for c in closed] == btc_frame.high[WARMUP - 10 : WARMUP].tolist()
    assert [c[5] for c in closed] == pytest.approx(btc_frame.volume[WARMUP - 10 : WARMUP].tolist())
    since = int(btc_frame.open_time[5])
    assert (await client.fetch_ohlcv(SYMBOL, "1m", since=since, limit=3))[0][0] == since


async def test_time_mark_price_and_funding(client: ccxt_async.binanceusdm, exchange: LocalExchange) -> None:
    assert abs(await client.fetch_time() - exchange.wall_time()) < 60_000
    funding = await client.fetch_funding_rate(SYMBOL)
    assert funding["markPrice"] == last_price(exchange)
    assert funding["fundingRate"] == 0.0001
    assert funding["fundingTimestamp"] % (8 * 3_600_000) == 0


async def test_account_settings(client: ccxt_async.binanceusdm, exchange: LocalExchange) -> None:
    await client.set_leverage(7, SYMBOL)
    await client.set_margin_mode("isolated", SYMBOL)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        await client.set_margin_mode("isolated", SYMBOL)
    await client.set_position_mode(True)
    assert (await client.fetch_position_mode(SYMBOL))["hedged"] is True
    await client.set_position_mode(False)
    assert exchange.engine.settings["BTCUSDT"].leverage == 7
    leverage = await client.fetch_leverage(SYMBOL)
    assert leverage["longLeverage"] == 7 and leverage["marginMode"] == "isolated"


async def test_market_order_position_balance_trades_and_ledger(
    client: ccxt_async.binanceusdm, exchange: LocalExchange
) -> None:
    price = last_price(exchange)
    order = await client.create_order(SYMBOL, "market", "buy", 0.01, params={"clientOrderId": "entry-1"})
    assert (order["status"], order["filled"], order["average"]) == ("closed", 0.01, price)
    [position] = await client.fetch_positions([SYMBOL])
    assert (position["side"], position["contracts"], position["entryPrice"]) == ("long", 0.01, price)
    fee = Decimal(str(price)) * Decimal("0.01") * Decimal("0.0005")
    balance = await client.fetch_balance()
    assert Decimal(str(balance["USDT"]["total"])) == Decimal(10000) - fee
    [trade] = await client.fetch_my_trades(SYMBOL)
    assert (trade["order"], trade["takerOrMaker"], trade["fee"]["cost"]) == (order["id"], "taker", float(fee))
    ledger = await client.fetch_ledger("USDT")
    assert {entry["type"] for entry in ledger} == {"transfer", "commission"}
    fetched = await client.fetch_order(None, SYMBOL, params={"origClientOrderId": "entry-1"})
    assert fetched["id"] == order["id"]


async def test_limit_orders_rest_fill_and_cancel(client: ccxt_async.binanceusdm, exchange: LocalExchange) -> None:
    below = round(last_price(exchange) * 0.97, 1)
    resting = await client.create_order(SYMBOL, "limit", "buy", 0.002, below)
    post_only = await client.create_order(SYMBOL, "limit", "buy", 0.002, below, params={"postOnly": True})
    ioc = await client.create_order(SYMBOL, "limit", "buy", 0.002, below, params={"timeInForce": "IOC"})
    assert (resting["status"], post_only["status"], ioc["status"]) == ("open", "open", "expired")
    assert {o["id"] for o in await client.fetch_open_orders(SYMBOL)} == {resting["id"], post_only["id"]}
    canceled = await client.cancel_order(post_only["id"], SYMBOL)
    assert canceled["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order(post_only["id"], SYMBOL)
    above = round(last_price(exchange) * 1.01, 1)
    taker = await client.create_order(SYMBOL, "limit", "buy", 0.002, above, params={"timeInForce": "FOK"})
    assert taker["status"] == "closed" and taker["average"] == last_price(exchange)
    await client.cancel_all_orders(SYMBOL)
    assert await client.fetch_open_orders(SYMBOL) == []


async def test_algo_stop_and_take_profit_trigger_along_the_candle_path(
    client: ccxt_async.binanceusdm, exchange: LocalExchange
) -> None:
    entry = last_price(exchange)
    await client.create_order(SYMBOL, "market", "buy", 0.01)
    stop_price, target = round(entry * 0.997, 1), round(entry * 1.003, 1)
    stop = await client.create_order(
        SYMBOL,
        "market",
        "sell",
        None,
        None,
        {"stopLossPrice": stop_price, "closePosition": True, "workingType": "MARK_PRICE"},
    )
    take = await client.create_order(
        SYMBOL, "market", "sell", 0.01, None, {"takeProfitPrice": target, "reduceOnly": True}
    )
    assert stop["status"] == "open" and stop["triggerPrice"] == stop_price
    open_algos = await client.fetch_open_orders(SYMBOL, params={"trigger": True})
    assert {o["id"] for o in open_algos} == {stop["id"], take["id"]}
    for _ in range(WARMUP):
        await exchange.advance(1)
        if len(exchange.engine.open_algos("BTCUSDT")) < 2:
            break
    fired = [a for a in exchange.engine.algos.values() if a.status == "FINISHED"]
    assert len(fired) == 1
    [trade] = [t for t in await client.fetch_my_trades(SYMBOL) if t["side"] == "sell"]
    assert trade["price"] == float(fired[0].trigger_price)
    assert (await client.fetch_positions([SYMBOL])) == []
    fetched = await client.fetch_order(str(fired[0].algo_id), SYMBOL, params={"trigger": True})
    assert fetched["info"]["algoStatus"] == "FINISHED"
    remaining = await client.fetch_open_orders(SYMBOL, params={"trigger": True})
    assert len(remaining) == 1
    await client.cancel_order(remaining[0]["id"], SYMBOL, params={"trigger": True})
    assert await client.fetch_open_orders(SYMBOL, params={"trigger": True}) == []


async def test_a_second_close_position_stop_of_the_same_side_gets_4130(
    client: ccxt_async.binanceusdm, exchange: LocalExchange
) -> None:
    """Binance holds one close-position stop per side: a second one is refused (a reduce-only one for a quantity, a
    close-position take-profit and a stop of the other side are not)."""
    entry = last_price(exchange)
    await client.create_order(SYMBOL, "market", "buy", 0.01)
    below, above = round(entry * 0.99, 1), round(entry * 1.01, 1)
    close_all = {"closePosition": True}
    first = await client.create_order(SYMBOL, "market", "sell", None, None, {"stopLossPrice": below, **close_all})
    with pytest.raises(ccxt.ExchangeError) as refused:
        await client.create_order(SYMBOL, "market", "sell", None, None, {"stopLossPrice": below - 10, **close_all})
    assert json.loads(str(refused.value).split(" ", 1)[1]) == {
        "code": -4130,
        "msg": "An open stop or take profit order with GTE and closePosition in the direction is existing.",
    }
    reduce_only = await client.create_order(
        SYMBOL, "market", "sell", 0.01, None, {"stopLossPrice": below - 10, "reduceOnly": True}
    )
    take = await client.create_order(SYMBOL, "market", "sell", None, None, {"takeProfitPrice": above, **close_all})
    other_side = await client.create_order(SYMBOL, "market", "buy", None, None, {"stopLossPrice": above, **close_all})
    assert {a.algo_id for a in exchange.engine.open_algos("BTCUSDT")} == {
        int(o["id"]) for o in (first, reduce_only, take, other_side)
    }
    await client.cancel_order(first["id"], SYMBOL, params={"trigger": True})
    again = await client.create_order(SYMBOL, "market", "sell", None, None, {"stopLossPrice": below, **close_all})
    assert again["status"] == "open", "once the first is cancelled, a new close-position stop is accepted"
    await client.cancel_all_orders(SYMBOL, params={"trigger": True})


async def test_fees_and_tiers(client: ccxt_async.binanceusdm) -> None:
    fee = await client.fetch_trading_fee(SYMBOL)
    assert (fee["maker"], fee["taker"]) == (0.0002, 0.0005)
    tiers = await client.fetch_leverage_tiers([SYMBOL])
    assert tiers[SYMBOL][0]["maxLeverage"] == 125
    assert tiers[SYMBOL][1]["maintenanceMarginRate"] == 0.005


async def test_watch_ohlcv_receives_the_replayed_candles(pro: ccxt_pro.binanceusdm, exchange: LocalExchange) -> None:
    watcher = asyncio.create_task(pro.watch_ohlcv(SYMBOL, "1m"))
    await until(lambda: exchange.hub.has_subscribers("btcusdt@kline_1m"))
    await exchange.advance(1)
    candles = await watcher
    index = WARMUP
    frame = exchange.replay.feeds["BTCUSDT"].frame
    assert candles[-1][0] == int(frame.open_time[index])
    while candles[-1][4] != float(frame.close[index]) or candles[-1][2] != float(frame.high[index]):
        candles = await pro.watch_ohlcv(SYMBOL, "1m")
    assert candles[-1][1:5] == [
        float(frame.open[index]),
        float(frame.high[index]),
        float(frame.low[index]),
        float(frame.close[index]),
    ]


async def test_watch_user_data(pro: ccxt_pro.binanceusdm, exchange: LocalExchange) -> None:
    orders = asyncio.create_task(pro.watch_orders(SYMBOL))
    await until(lambda: any(c.listen_key for c in exchange.hub.connections))
    balance = asyncio.create_task(pro.watch_balance())
    positions = asyncio.create_task(pro.watch_positions([SYMBOL]))
    await asyncio.sleep(0)
    placed = await pro.create_order(SYMBOL, "market", "buy", 0.01)
    seen = await orders
    while seen[-1]["status"] != "closed":
        seen = await pro.watch_orders(SYMBOL)
    assert seen[-1]["id"] == placed["id"] and seen[-1]["filled"] == 0.01
    assert (await balance)["USDT"]["total"] == float(exchange.engine.wallet)
    [position] = await positions
    assert position["contracts"] == 0.01 and position["side"] == "long"


async def test_hedge_mode_keeps_long_and_short_apart(client: ccxt_async.binanceusdm, exchange: LocalExchange) -> None:
    await client.set_position_mode(True)
    await client.create_order(SYMBOL, "market", "buy", 0.01, params={"positionSide": "LONG"})
    await client.create_order(SYMBOL, "market", "sell", 0.004, params={"positionSide": "SHORT"})
    positions = {p["side"]: p["contracts"] for p in await client.fetch_positions([SYMBOL])}
    assert positions == {"long": 0.01, "short": 0.004}
    await client.create_order(SYMBOL, "market", "sell", 0.01, params={"positionSide": "LONG"})
    assert [p["side"] for p in await client.fetch_positions([SYMBOL])] == ["short"]
    with pytest.raises(ccxt.ExchangeError, match="-4068"):
        await client.set_position_mode(False)
