"""Accounting: balance = deposits + realized PnL − fees ± funding (− liquidation clearance), after any fills."""

from __future__ import annotations

from contextlib import suppress
from decimal import Decimal
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ictbot.data.loaders import load_candles
from ictbot.exchange import BinanceError, LocalExchange
from ictbot.exchange.records import Position

from .conftest import DATA

DEPOSIT = Decimal(10_000)


@cache
def btc_minutes():
    """Starts 2025-05-04 15:33 UTC: with a warm-up of 10 the 16:00 funding comes in the 18th candle."""
    return load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 500)


def identity_gap(ex: LocalExchange) -> Decimal:
    e = ex.engine
    realized = sum((t.realized_pnl for t in e.trades), Decimal(0))
    fees = sum((t.commission for t in e.trades), Decimal(0))
    other = sum((i.income for i in e.income if i.income_type in ("FUNDING_FEE", "INSURANCE_CLEAR")), Decimal(0))
    return e.wallet - (DEPOSIT + realized - fees + other)


orders = st.tuples(
    st.sampled_from(["BUY", "SELL"]),
    st.integers(min_value=2, max_value=60),
    st.sampled_from(["MARKET", "LIMIT_NEAR", "REDUCE"]),
    st.integers(min_value=0, max_value=25),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    actions=st.lists(orders, min_size=1, max_size=12),
    isolated=st.booleans(),
    leverage=st.integers(min_value=1, max_value=125),
    partial=st.sampled_from([None, "0.3"]),
)
def test_balance_equals_deposits_plus_realized_minus_fees_plus_funding(
    actions: list[tuple[str, int, str, int]], isolated: bool, leverage: int, partial: str | None
) -> None:
    ex = LocalExchange([btc_minutes()], warmup=10, balance=DEPOSIT)
    e = ex.engine
    e.set_leverage("BTCUSDT", leverage)
    if isolated:
        e.set_margin_type("BTCUSDT", "ISOLATED")
    ex.partial_fills(partial)
    for side, steps, kind, candles in actions:
        params = {"symbol": "BTCUSDT", "side": side, "quantity": str(Decimal(steps) / 1000)}
        if kind == "LIMIT_NEAR":
            offset = Decimal("0.999") if side == "BUY" else Decimal("1.001")
            params |= {
                "type": "LIMIT",
                "timeInForce": "GTC",
                "price": str(e.replay.feeds["BTCUSDT"].spec.round_price(e.mark("BTCUSDT") * offset)),
            }
        else:
            params |= {"type": "MARKET", "reduceOnly": str(kind == "REDUCE").lower()}
        with suppress(BinanceError):  # a rejected order must leave the books untouched too
            e.place_order(params)
        ex.replay_candles(candles)
        assert identity_gap(ex) == 0
    position = e.position("BTCUSDT", "BOTH")
    signed_fills = sum((t.qty if t.side == "BUY" else -t.qty for t in e.trades), Decimal(0))
    assert position.amount == signed_fills


def test_funding_is_paid_at_the_funding_time_from_the_rate_file() -> None:
    ex = LocalExchange.from_files(
        [DATA / "BTC_USDT_USDT-1m-futures.feather"],
        funding_files=[DATA / "BTC_USDT_USDT-8h-funding_rate.feather"],
        warmup=10,
    )
    ex.engine.place_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.100"})
    ex.replay_candles(17)
    assert not [i for i in ex.engine.income if i.income_type == "FUNDING_FEE"]
    ex.replay_candles(1)
    [funding] = [i for i in ex.engine.income if i.income_type == "FUNDING_FEE"]
    assert funding.time == 1746374400000  # 2025-05-04 16:00 UTC
    rate = ex.replay.feeds["BTCUSDT"].funding[funding.time]
    mark = ex.replay.feeds["BTCUSDT"].spec.round_price(float(ex.replay.feeds["BTCUSDT"].frame.close[26]))
    assert funding.income == (-Decimal("0.100") * mark * rate).quantize(Decimal("1e-8"))
    assert identity_gap(ex) == 0


def test_liquidation_price_matches_the_documented_example() -> None:
    ex = LocalExchange([btc_minutes()], warmup=10)
    ex.engine.set_margin_type("BTCUSDT", "ISOLATED")
    long = Position("BTCUSDT", "BOTH", Decimal(1), Decimal(10_000), Decimal(1_000))
    short = Position("BTCUSDT", "BOTH", Decimal(-1), Decimal(10_000), Decimal(1_000))
    assert ex.engine.liquidation_price(long).quantize(Decimal("0.01")) == Decimal("9036.14")
    assert ex.engine.liquidation_price(short).quantize(Decimal("0.01")) == Decimal("10956.18")


def test_isolated_position_is_liquidated_at_its_liquidation_price() -> None:
    ex = LocalExchange([btc_minutes().slice(0, 500)], warmup=10, balance=DEPOSIT)  # drops 0.5 % by minute 420
    events: list[dict] = []
    ex.engine.sink = events.append
    e = ex.engine
    e.set_margin_type("BTCUSDT", "ISOLATED")
    e.set_leverage("BTCUSDT", 125)
    e.place_order({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.300"})
    position = e.position("BTCUSDT", "BOTH")
    for _ in range(480):
        wallet, margin, liquidation = e.wallet, position.isolated_wallet, e.liquidation_price(position)
        ex.replay_candles(1)
        if not position.amount:
            break
    assert position.amount == 0
    assert e.trades[-1].price == e.replay.feeds["BTCUSDT"].spec.round_price(liquidation)
    assert e.wallet == wallet - margin  # the whole isolated margin is lost, nothing more
    assert [i.income_type for i in e.income[-2:]] == ["REALIZED_PNL", "INSURANCE_CLEAR"]
    [event] = [ev for ev in events if ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["o"] == "LIQUIDATION"]
    assert event["o"]["c"].startswith("autoclose-") and event["o"]["X"] == "FILLED"
    assert identity_gap(ex) == 0
