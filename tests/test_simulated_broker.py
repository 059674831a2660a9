"""The simulated broker's fill model: order types, conservative intrabar rule, slippage, fees, liquidation."""

from decimal import Decimal

import pytest

from ictbot.domain import Candle, OrderIntent, OrderType, Side, Signal
from ictbot.portfolio.ledger import Portfolio
from ictbot.risk.liquidation import liquidation_price_at_leverage
from ictbot.symbols import KNOWN_SYMBOLS
from ictbot.venues.simulated import SimulatedBroker

MIN = 60_000


def _broker(leverage=3):
    return SimulatedBroker(KNOWN_SYMBOLS, 0.0002, 0.0005, 1, MIN, leverage)


def _long(entry="2000.00", stop="1990.00", target="2030.00", qty="0.050", order_type=OrderType.LIMIT, expires=None):
    signal = Signal("ETHUSDT", Side.BUY, float(entry), float(stop), float(target), 0, "test", order_type)
    return OrderIntent(
        "cid", "ETHUSDT", Side.BUY, order_type, Decimal(qty), Decimal(entry), Decimal(stop), Decimal(target), 0,
        expires, signal,
    )  # fmt: skip


def _candle(minute, o, h, lo, c):
    return Candle(minute * MIN, o, h, lo, c, 1.0)


def test_limit_fills_at_its_price_as_maker_and_target_as_taker():
    broker = _broker()
    broker.submit(_long())
    assert broker.on_candle("ETHUSDT", _candle(1, 2010, 2012, 2001, 2005)) == []
    [entry] = broker.on_candle("ETHUSDT", _candle(2, 2005, 2006, 1999, 2003))
    assert (entry.price, entry.is_maker, entry.fee) == (
        Decimal("2000.00"),
        True,
        Decimal("0.050") * 2000 * Decimal("0.0002"),
    )
    [exit_] = broker.on_candle("ETHUSDT", _candle(3, 2010, 2031, 2008, 2029))
    # A TAKE_PROFIT_MARKET: triggered at 2030.00, sold at market one tick lower, taker fee 0.05 × 2029.99 × 0.05 %.
    assert (exit_.reason, exit_.price, exit_.is_maker) == ("target", Decimal("2029.99"), False)
    assert exit_.fee == Decimal("0.0507497500")


def test_a_gap_through_the_target_fills_at_the_open():
    broker = _broker()
    broker.submit(_long())
    broker.on_candle("ETHUSDT", _candle(1, 2005, 2006, 1999, 2003))
    [exit_] = broker.on_candle("ETHUSDT", _candle(2, 2040, 2045, 2035, 2041))
    assert (exit_.reason, exit_.price, exit_.is_maker) == ("target", Decimal("2039.99"), False)


def test_stop_first_when_a_candle_reaches_both_and_on_the_entry_candle():
    broker = _broker()
    broker.submit(_long())
    entry, stop = broker.on_candle("ETHUSDT", _candle(1, 1999, 2040, 1985, 2020))  # entry, target and stop inside
    assert (entry.reason, stop.reason) == ("entry", "stop")
    assert stop.price == Decimal("1989.99")  # the stop less one tick of slippage, taker
    assert (entry.time, stop.time) == (60_000, 80_000)  # entry at the open, stop on the way to the low (1/3)
    broker.submit(_long())
    broker.on_candle("ETHUSDT", _candle(2, 2001, 2035, 1999, 2020))  # target reached on the entry candle: not taken
    [exit_] = broker.on_candle("ETHUSDT", _candle(3, 2020, 2040, 1980, 2000))
    assert exit_.reason == "stop"


def test_a_stop_already_crossed_when_the_entry_fills_closes_at_that_ticks_price():
    broker = _broker()
    broker.submit(_long())  # buy 2000, stop 1990: the path 2001 → 1985 fills the entry at the low, beyond the stop
    entry, stop = broker.on_candle("ETHUSDT", _candle(1, 2001, 2040, 1985, 2020))
    assert (entry.price, entry.is_maker, entry.time) == (Decimal("2000"), True, 80_000)
    assert (stop.reason, stop.price, stop.is_maker, stop.time) == ("stop", Decimal("1984.99"), False, 80_000)


def test_a_gap_through_the_stop_fills_at_the_open_and_expiry_cancels():
    broker = _broker()
    broker.submit(_long())
    broker.on_candle("ETHUSDT", _candle(1, 2001, 2002, 1999, 2001))
    [exit_] = broker.on_candle("ETHUSDT", _candle(2, 1980, 1985, 1975, 1984))
    assert exit_.price == Decimal("1979.99")
    broker.submit(_long(expires=4 * MIN))
    assert broker.on_candle("ETHUSDT", _candle(3, 2010, 2011, 2005, 2006)) == []
    assert broker.pending_entries() == 0 and broker.cancelled[-1].client_order_id == "cid"


def test_market_entry_fills_at_the_next_open_with_slippage_as_taker():
    broker = _broker()
    broker.submit(_long(order_type=OrderType.MARKET))
    [entry] = broker.on_candle("ETHUSDT", _candle(1, 2001.5, 2002, 2001, 2001.8))
    assert (entry.price, entry.is_maker) == (Decimal("2001.51"), False)


@pytest.mark.parametrize(("open_", "exit_price"), [(1965.0, "1965.00"), (1950.0, "1960.00")])
def test_gap_beyond_the_liquidation_price_loses_exactly_the_margin(open_, exit_price):
    # 50x long of 0.050 ETH at 2,000: margin 2 USDT, bankruptcy price 1,960; Binance's isolated liquidation price lies
    # between (the maintenance margin), ~1.5 % below entry.
    broker = _broker(leverage=50)
    liquidation = liquidation_price_at_leverage("ETHUSDT", Side.BUY, Decimal("0.050"), Decimal("2000.00"), 50)
    assert Decimal(1960) < liquidation < Decimal(1975)
    broker.submit(_long(stop="1990.00"))
    portfolio = Portfolio(Decimal(100))
    for fill in broker.on_candle("ETHUSDT", _candle(1, 2001, 2002, 1999, 2001)):
        portfolio.apply(fill)
    [liq] = broker.on_candle("ETHUSDT", _candle(2, open_, open_ + 5, open_ - 10, open_))
    portfolio.apply(liq)
    assert liq.reason == "liquidation" and liq.price == Decimal(exit_price)
    taker_fee = Decimal("0.050") * Decimal(exit_price) * Decimal("0.0005")
    entry_fee = Decimal("0.050") * Decimal("2000.00") * Decimal("0.0002")
    # Realized loss + clearance fee = the 2 USDT margin; on top of it only the two trading fees.
    assert portfolio.cash == Decimal(100) - Decimal(2) - taker_fee - entry_fee
    assert portfolio.closed_trades[0].exit_reason == "liquidation"


def test_each_entry_cancelled_unfilled_is_handed_over_once_for_the_record():
    broker = _broker()
    expiring = _long(expires=3 * MIN)
    broker.submit(expiring)
    assert broker.take_cancelled() == []
    broker.on_candle("ETHUSDT", _candle(1, 2010, 2012, 2001, 2005))
    broker.on_candle("ETHUSDT", _candle(3, 2010, 2012, 2001, 2005))
    assert broker.take_cancelled() == [expiring]
    broker.submit(closed := _long())
    assert broker.close_now("ETHUSDT", Decimal("2010.00"), 4 * MIN) == []
    assert broker.take_cancelled() == [closed]
    assert broker.take_cancelled() == []
