"""When a limit order takes liquidity on the local exchange: only through the last price. One placed exactly at it
rests and fills as a maker when a later trade reaches it, as the backtest books a resting entry."""

from __future__ import annotations

from decimal import Decimal

from ictbot.data.loaders import load_candles
from ictbot.exchange import LocalExchange

from .conftest import DATA

SYMBOL = "BTCUSDT"


def _exchange() -> LocalExchange:
    return LocalExchange([load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 50)], warmup=10)


def _limit(ex: LocalExchange, side: str, price: Decimal, tif: str = "GTC"):
    params = {"symbol": SYMBOL, "side": side, "type": "LIMIT", "timeInForce": tif, "quantity": "0.002",
              "price": str(price)}  # fmt: skip
    order, _ = ex.engine.place_order(params)
    return order


def test_a_limit_at_the_last_price_rests_and_fills_as_maker_when_a_trade_reaches_it() -> None:
    ex = _exchange()
    last = ex.replay.feeds[SYMBOL].last_price
    buy = _limit(ex, "BUY", last)
    assert (buy.status, ex.engine.trades) == ("NEW", [])
    ex.engine.on_tick(SYMBOL, last + Decimal("0.1"), False)  # a trade above it: still resting
    assert buy.status == "NEW"
    ex.engine.on_tick(SYMBOL, last, False)
    [trade] = ex.engine.trades
    assert (buy.status, trade.price, trade.qty, trade.maker) == ("FILLED", last, Decimal("0.002"), True)


def test_a_limit_through_the_last_price_takes_liquidity_at_the_last_price() -> None:
    ex = _exchange()
    last = ex.replay.feeds[SYMBOL].last_price
    sell = _limit(ex, "SELL", last - Decimal("5"))
    [trade] = ex.engine.trades
    assert (sell.status, trade.price, trade.maker) == ("FILLED", last, False)


def test_a_post_only_limit_at_the_last_price_is_accepted_and_rests() -> None:
    ex = _exchange()
    last = ex.replay.feeds[SYMBOL].last_price
    assert _limit(ex, "SELL", last, tif="GTX").status == "NEW"
    assert ex.engine.trades == []
