"""Every error of the spec's fake-server checklist (§9), with Binance's exact code, message and HTTP status."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from ictbot.exchange import LocalExchange

from .binance_http import call


async def order(ex: LocalExchange, **params: object):
    params.setdefault("symbol", "BTCUSDT")
    return await call(ex, "POST", "/fapi/v1/order", signed=True, **params)


def price_near(ex: LocalExchange, factor: str, symbol: str = "BTCUSDT") -> str:
    feed = ex.replay.feeds[symbol]
    return str(feed.spec.round_price(feed.last_price * Decimal(factor)))


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"quantity": "0.002", "price": "95000.05"}, -4014, "Price not increased by tick size."),
        ({"quantity": "0.002", "price": "95000.155"}, -1111, "Precision is over the maximum defined for this asset."),
        ({"quantity": "0.0015", "price": "95000.1"}, -1111, "Precision is over the maximum defined for this asset."),
        ({"quantity": "0", "price": "95000.1"}, -4003, "Quantity less than zero."),
        ({"quantity": "2000", "price": "95000.1"}, -4005, "Quantity greater than max quantity."),
        (
            {"quantity": "0.001", "price": "95000.1"},
            -4164,
            "Order's notional must be no smaller than 100 (unless you choose reduce only).",
        ),
    ],
)
async def test_filters_reject_with_binance_codes(exchange: LocalExchange, params: dict, code: int, msg: str) -> None:
    answer = await order(exchange, side="BUY", type="LIMIT", timeInForce="GTC", **params)
    assert (answer.status, answer.body) == (400, {"code": code, "msg": msg})


async def test_qty_off_a_coarse_step_gets_4023(exchange: LocalExchange) -> None:
    """With a step coarser than its decimals (0.005), an allowed-precision quantity can still miss the step."""
    spec = exchange.replay.feeds["ETHUSDT"].spec
    exchange.replay.feeds["ETHUSDT"].spec = replace(spec, step_size=Decimal("0.005"), min_qty=Decimal("0.005"))
    step = await order(
        exchange, symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.012", price="1800.01"
    )
    assert step.body == {"code": -4023, "msg": "Qty not increased by step size."}


async def test_percent_price_is_checked_against_mark(exchange: LocalExchange) -> None:
    high = await order(
        exchange, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.002", price=price_near(exchange, "1.06")
    )
    low = await order(
        exchange, side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.002", price=price_near(exchange, "0.94")
    )
    assert high.body == {"code": -4016, "msg": "Price is higher than mark price multiplier cap."}
    assert low.body == {"code": -4024, "msg": "Price is lower than mark price multiplier floor."}


async def test_reduce_only_is_exempt_from_min_notional_but_needs_a_position(exchange: LocalExchange) -> None:
    nothing = await order(exchange, side="SELL", type="MARKET", quantity="0.001", reduceOnly="true")
    assert nothing.body == {"code": -2022, "msg": "ReduceOnly Order is rejected."}
    assert (await order(exchange, side="BUY", type="MARKET", quantity="0.002")).status == 200
    small = await order(
        exchange, side="SELL", type="MARKET", quantity="0.001", reduceOnly="true", newOrderRespType="RESULT"
    )
    assert small.status == 200 and small.body["status"] == "FILLED"


async def test_position_side_must_match_the_position_mode(exchange: LocalExchange) -> None:
    one_way = await order(exchange, side="BUY", type="MARKET", quantity="0.002", positionSide="LONG")
    assert one_way.body == {"code": -4061, "msg": "Order's position side does not match user's setting."}
    assert (
        await call(exchange, "POST", "/fapi/v1/positionSide/dual", signed=True, dualSidePosition="true")
    ).status == 200
    hedge = await order(exchange, side="BUY", type="MARKET", quantity="0.002")
    assert hedge.body["code"] == -4061
    reduce_only = await order(
        exchange, side="SELL", type="MARKET", quantity="0.002", positionSide="LONG", reduceOnly="true"
    )
    assert reduce_only.body == {"code": -1106, "msg": "Parameter 'reduceOnly' sent when not required."}
    again = await call(exchange, "POST", "/fapi/v1/positionSide/dual", signed=True, dualSidePosition="true")
    assert again.body == {"code": -4059, "msg": "No need to change position side."}


@pytest.mark.parametrize(
    "order_type", ["STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"]
)
async def test_conditional_types_on_the_order_endpoint_get_4120(exchange: LocalExchange, order_type: str) -> None:
    answer = await order(exchange, side="SELL", type=order_type, quantity="0.002", stopPrice="90000")
    assert (answer.status, answer.body) == (
        400,
        {
            "code": -4120,
            "msg": "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
        },
    )


async def test_unknown_orders(exchange: LocalExchange) -> None:
    cancel = await call(exchange, "DELETE", "/fapi/v1/order", signed=True, symbol="BTCUSDT", orderId=12345)
    query = await call(exchange, "GET", "/fapi/v1/order", signed=True, symbol="BTCUSDT", origClientOrderId="nope")
    assert (cancel.status, cancel.body) == (400, {"code": -2011, "msg": "Unknown order sent."})
    assert (query.status, query.body) == (400, {"code": -2013, "msg": "Order does not exist."})


async def test_duplicate_open_client_order_id_gets_4116(exchange: LocalExchange) -> None:
    params = {
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.002",
        "price": price_near(exchange, "0.97"),
    }
    assert (await order(exchange, newClientOrderId="dup-1", **params)).status == 200
    duplicate = await order(exchange, newClientOrderId="dup-1", **params)
    assert duplicate.body == {"code": -4116, "msg": "clientOrderId is duplicated"}
    await call(exchange, "DELETE", "/fapi/v1/order", signed=True, symbol="BTCUSDT", origClientOrderId="dup-1")
    assert (await order(exchange, newClientOrderId="dup-1", **params)).status == 200


async def test_too_long_client_order_id_and_bad_symbol(exchange: LocalExchange) -> None:
    long_id = await order(exchange, side="BUY", type="MARKET", quantity="0.002", newClientOrderId="x" * 37)
    bad_symbol = await order(exchange, symbol="NOPEUSDT", side="BUY", type="MARKET", quantity="1")
    assert long_id.body == {"code": -4015, "msg": "Client order id length should not be more than 36 chars"}
    assert bad_symbol.body == {"code": -1121, "msg": "Invalid symbol."}


async def test_insufficient_margin_gets_2019(exchange: LocalExchange) -> None:
    answer = await order(exchange, side="BUY", type="MARKET", quantity="5")
    assert answer.body == {"code": -2019, "msg": "Margin is insufficient."}


async def test_fok_and_post_only_rejections(exchange: LocalExchange) -> None:
    below = price_near(exchange, "0.98")
    above = price_near(exchange, "1.02")
    fok = await order(exchange, side="BUY", type="LIMIT", timeInForce="FOK", quantity="0.002", price=below)
    gtx = await order(exchange, side="BUY", type="LIMIT", timeInForce="GTX", quantity="0.002", price=above)
    assert fok.body == {
        "code": -5021,
        "msg": "Due to the order could not be filled immediately, the FOK order has been rejected.",
    }
    assert gtx.body == {
        "code": -5022,
        "msg": "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    }


async def test_algo_order_through_the_market_gets_2021(exchange: LocalExchange) -> None:
    answer = await call(
        exchange,
        "POST",
        "/fapi/v1/algoOrder",
        signed=True,
        algoType="CONDITIONAL",
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_MARKET",
        quantity="0.002",
        triggerPrice=price_near(exchange, "1.01"),
    )
    assert answer.body == {"code": -2021, "msg": "Order would immediately trigger."}


async def test_leverage_and_margin_type_errors(exchange: LocalExchange) -> None:
    too_high = await call(exchange, "POST", "/fapi/v1/leverage", signed=True, symbol="BTCUSDT", leverage=126)
    assert too_high.body == {"code": -4028, "msg": "Leverage 126 is not valid"}
    same = await call(exchange, "POST", "/fapi/v1/marginType", signed=True, symbol="BTCUSDT", marginType="CROSSED")
    assert same.body == {"code": -4046, "msg": "No need to change margin type."}


async def test_listen_key_keepalive_after_expiry_gets_1125(exchange: LocalExchange) -> None:
    assert (await call(exchange, "POST", "/fapi/v1/listenKey")).status == 200
    exchange.expire_listen_key()
    answer = await call(exchange, "PUT", "/fapi/v1/listenKey")
    assert answer.body == {
        "code": -1125,
        "msg": "This listenKey does not exist. Please use POST /fapi/v1/listenKey to recreate listenKey",
    }


async def test_weight_headers_then_429_then_418(btc_frame) -> None:
    async with LocalExchange([btc_frame], warmup=300, weight_limit=12) as ex:
        first = await call(ex, "GET", "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=500)
        assert first.headers["X-MBX-USED-WEIGHT-1M"] == "5"
        order_answer = await order(ex, side="BUY", type="MARKET", quantity="0.002")
        assert order_answer.headers["X-MBX-USED-WEIGHT-1M"] == "5"
        assert order_answer.headers["X-MBX-ORDER-COUNT-1M"] == "1"
        assert order_answer.headers["X-MBX-ORDER-COUNT-10S"] == "1"
        statuses = [
            (await call(ex, "GET", "/fapi/v1/klines", symbol="BTCUSDT", interval="1m", limit=500)) for _ in range(8)
        ]
        assert [a.status for a in statuses] == [200] + [429] * 5 + [418] * 2
        assert statuses[1].body == {
            "code": -1003,
            "msg": "Too many requests; current limit is 12 requests per minute. "
            "Please use the websocket for live updates to avoid polling the API.",
        }
        assert statuses[-1].body["msg"].startswith("Way too many requests; IP banned until ")
