"""Sizing within caps and exchange rounding; exact position and PnL accounting under any sequence of fills."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ictbot.config import RiskSettings
from ictbot.domain import Fill, OrderType, Side, Signal, client_order_id
from ictbot.portfolio.ledger import Portfolio
from ictbot.risk.gate import DAY_MS, AccountView, RiskGate, TradingState
from ictbot.risk.liquidation import isolated_liquidation_price
from ictbot.symbols import KNOWN_SYMBOLS

RISK = RiskSettings()
FREE = AccountView(Decimal(1000), 0, 0, Decimal(0), False)


def _signal(symbol="BTCUSDT", side=Side.BUY, entry=100_000.0, stop=99_500.0, created_at=0):
    target = entry + 2 * (entry - stop)
    return Signal(symbol, side, entry, stop, target, created_at, "test", OrderType.LIMIT)


def test_btc_size_is_capped_by_margin_times_leverage_and_rounded_down():
    gate = RiskGate(RISK, KNOWN_SYMBOLS)
    intent = gate.check(_signal(entry=104_000.0, stop=103_800.0), FREE)
    # risk 5 USDT / 200 USDT stop = 0.025 BTC, but 150 USDT cap / 104,000 = 0.00144 → 0.001 BTC
    assert intent is not None and intent.quantity == Decimal("0.001")
    assert intent.price == Decimal("104000.0") and intent.stop == Decimal("103800.0")


def test_btc_below_100_usdt_minimum_is_rejected_with_reason():
    gate = RiskGate(RISK, KNOWN_SYMBOLS)
    assert gate.check(_signal(entry=95_000.0, stop=94_800.0), FREE) is None
    [rejection] = gate.rejections
    assert rejection.reason == "below_min_notional"
    assert "0.001 × 95000.00 = 95.00000 USDT < minimum notional 100 USDT" in rejection.detail


def test_each_limit_rejects_with_its_own_reason():
    cases = [
        (AccountView(Decimal(1000), 2, 1, Decimal(0), False), _signal(), "max_open_positions"),
        (AccountView(Decimal(1000), 0, 0, Decimal(0), True), _signal(), "symbol_busy"),
        (FREE, _signal(stop=100_100.0), "invalid_stop"),
        (FREE, _signal("SOLUSDT", entry=200.0, stop=198.0), "below_min_qty"),  # 150 USDT buys 0.75 SOL; step 1
    ]
    for account, signal, reason in cases:
        gate = RiskGate(RISK, KNOWN_SYMBOLS)
        assert gate.check(signal, account) is None
        assert [r.reason for r in gate.rejections] == [reason]


def test_daily_loss_limit_switches_to_reducing_until_the_next_utc_day():
    gate = RiskGate(RISK, KNOWN_SYMBOLS)
    day = 20_000 * DAY_MS
    lost = AccountView(Decimal(980), 0, 0, Decimal(20), False)
    assert gate.check(_signal(created_at=day + 3_600_000), lost) is None
    assert gate.state is TradingState.REDUCING
    # Later the same day, even with the loss recovered, no entries: exits only until 00:00 UTC.
    assert gate.check(_signal(created_at=day + DAY_MS - 60_000), FREE) is None
    assert [r.reason for r in gate.rejections] == ["daily_loss_limit", "daily_loss_limit"]
    assert gate.check(_signal(created_at=day + DAY_MS), FREE) is not None
    assert gate.state is TradingState.ACTIVE


def test_halted_takes_no_entries_until_resumed():
    gate = RiskGate(RISK, KNOWN_SYMBOLS)
    gate.halt("operator pressed pause")
    assert gate.check(_signal(), FREE) is None
    assert gate.rejections[-1].reason == "halted" and "operator pressed pause" in gate.rejections[-1].detail
    gate.resume()
    assert gate.check(_signal(), FREE) is not None


def test_orders_per_minute_limit_uses_a_rolling_minute():
    gate = RiskGate(RiskSettings(max_orders_per_minute=2), KNOWN_SYMBOLS)
    accepted = [gate.check(_signal(created_at=t), FREE) is not None for t in (0, 10_000, 59_000, 60_000, 70_000)]
    assert accepted == [True, True, False, True, True]
    assert [r.reason for r in gate.rejections] == ["max_orders_per_minute"]


def test_liquidation_matches_binance_worked_example_and_guards_stops():
    # Spec §8: long 1 BTC at 10,000, 10x, wallet 1,000, MMR 0.4 %, cum 0 → 9,036.14; the short mirror → 10,956.18.
    long_lp = isolated_liquidation_price(Side.BUY, Decimal(1), Decimal(10_000), Decimal(1_000), Decimal("0.004"), 0)
    short_lp = isolated_liquidation_price(Side.SELL, Decimal(1), Decimal(10_000), Decimal(1_000), Decimal("0.004"), 0)
    assert round(long_lp, 2) == Decimal("9036.14") and round(short_lp, 2) == Decimal("10956.18")
    gate = RiskGate(RiskSettings(leverage=100, max_position_margin_usdt=2), KNOWN_SYMBOLS)
    # At 100x a long's liquidation is ~0.6 % below entry: a 1 % stop would be liquidated first.
    assert gate.check(_signal(entry=104_000.0, stop=102_960.0), FREE) is None
    assert gate.rejections[0].reason == "stop_beyond_liquidation"
    assert "lower the leverage" in gate.rejections[0].detail


def test_client_order_id_is_deterministic_and_binance_compatible():
    first, again, other = client_order_id(_signal()), client_order_id(_signal()), client_order_id(_signal(created_at=1))
    assert first == again != other
    assert len(first) <= 36 and first.replace("-", "").isalnum()


@settings(max_examples=300, deadline=None)
@given(
    symbol=st.sampled_from(["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]),
    entry=st.floats(min_value=0.1, max_value=200_000),
    stop_pct=st.floats(min_value=0.01, max_value=10),
    equity=st.integers(min_value=10, max_value=1_000_000),
    side=st.sampled_from([Side.BUY, Side.SELL]),
)
def test_size_never_exceeds_caps_and_always_respects_filters(symbol, entry, stop_pct, equity, side):
    spec = KNOWN_SYMBOLS[symbol]
    stop = entry * (1 - side.sign * stop_pct / 100)
    gate = RiskGate(RISK, KNOWN_SYMBOLS)
    intent = gate.check(_signal(symbol, side, entry, stop), AccountView(Decimal(equity), 0, 0, Decimal(0), False))
    if intent is None:
        assert gate.rejections[0].reason in {
            "below_min_qty",
            "below_min_notional",
            "invalid_stop",
            "stop_beyond_liquidation",
        }
        return
    notional = intent.quantity * intent.price
    assert intent.quantity % spec.step_size == 0 and intent.price % spec.tick_size == 0
    assert intent.quantity >= spec.min_qty and notional >= spec.min_notional
    assert notional <= Decimal(150)
    assert intent.quantity * abs(intent.price - intent.stop) <= Decimal(equity) * Decimal("0.005")


fills = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=50),  # quantity in steps of 0.001
        st.integers(min_value=9_000, max_value=11_000),  # price in ticks of 0.1... scaled below
        st.integers(min_value=0, max_value=100),  # fee in 0.001 USDT
        st.integers(min_value=-30, max_value=30),  # a funding rate in 0.00001 settled after the fill (0 = none)
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(sequence=fills)
def test_position_and_pnl_invariants_under_any_sequence_of_fills_and_funding(sequence):
    portfolio = Portfolio(Decimal(1000))
    signed = Decimal(0)
    funding = Decimal(0)
    for i, (side, qty, price, fee, rate) in enumerate(sequence):
        fill = Fill(
            f"o{i}", "BTCUSDT", side, Decimal(qty) / 1000, Decimal(price) * 10, Decimal(fee) / 1000, i, False, "x"
        )
        portfolio.apply(fill)
        signed += fill.quantity * side.sign
        if rate:
            mark = Decimal(price) * 10
            paid = portfolio.apply_funding("BTCUSDT", Decimal(rate) / 100_000, mark)
            assert paid == -signed * mark * Decimal(rate) / 100_000  # longs pay a positive rate, shorts receive it
            funding += paid
        position = portfolio.position("BTCUSDT")
        assert position.quantity == signed
        assert portfolio.funding == funding
        assert portfolio.cash == Decimal(1000) + portfolio.realized - portfolio.fees + funding
        assert portfolio.fees == sum((f.fee for f in portfolio.fills), Decimal(0))
        assert (position.quantity == 0) == (position.entry_price == 0)
        mark = Decimal(price) * 10
        assert portfolio.equity({"BTCUSDT": float(mark)}) == portfolio.cash + position.unrealized_pnl(mark)
    trades = [*portfolio.closed_trades, *portfolio.open_trades.values()]
    assert sum((t.realized for t in trades), Decimal(0)) == portfolio.realized
    assert sum((t.funding for t in trades), Decimal(0)) == portfolio.funding


def test_round_trip_realizes_price_difference_times_quantity():
    portfolio = Portfolio(Decimal(100))
    portfolio.apply(Fill("a", "ETHUSDT", Side.SELL, Decimal("0.5"), Decimal("2000"), Decimal("0.2"), 1, True, "entry"))
    portfolio.apply(Fill("a", "ETHUSDT", Side.BUY, Decimal("0.5"), Decimal("1990"), Decimal("0.5"), 2, False, "target"))
    [trade] = portfolio.closed_trades
    assert trade.realized == Decimal("5.0") and trade.fees == Decimal("0.7") and trade.pnl == Decimal("4.3")
    assert trade.exit_reason == "target" and portfolio.cash == Decimal("104.3")


def test_a_running_bot_keeps_no_fills_trades_or_rejections_but_totals_cover_everything():
    """A bot that runs for months keeps no history in memory (its recorder has all of it)."""
    everything, running = Portfolio(Decimal(100)), Portfolio(Decimal(100), keep_history=False)
    for i in range(3):
        for portfolio in (everything, running):
            portfolio.apply(
                Fill(f"t{i}", "ETHUSDT", Side.BUY, Decimal(1), Decimal(2000), Decimal("0.4"), 2 * i, True, "entry")
            )
            portfolio.apply(
                Fill(
                    f"t{i}", "ETHUSDT", Side.SELL, Decimal(1), Decimal(2001), Decimal("0.4"), 2 * i + 1, True, "target"
                )
            )
    assert len(everything.closed_trades) == 3 and len(everything.fills) == 6
    assert not running.closed_trades and not running.fills
    assert (running.realized, running.fees, running.cash) == (Decimal(3), Decimal("2.4"), Decimal("100.6"))
    gate = RiskGate(RISK, KNOWN_SYMBOLS, keep_history=False)
    for t in range(3):
        assert gate.check(_signal(created_at=t), AccountView(Decimal(1000), 0, 0, Decimal(0), True)) is None
    assert not gate.rejections and gate.last_rejection is not None
    assert (gate.last_rejection.time, gate.last_rejection.reason) == (2, "symbol_busy")


def test_funding_positive_rate_makes_longs_pay_and_shorts_receive():
    # Spec §8: payment = position notional at mark × funding rate; positive rate → longs pay shorts.
    portfolio = Portfolio(Decimal(1000))
    portfolio.apply(Fill("l", "BTCUSDT", Side.BUY, Decimal("0.010"), Decimal(99_000), Decimal(0), 0, True, "entry"))
    assert portfolio.apply_funding("BTCUSDT", Decimal("0.0001"), Decimal(100_000)) == Decimal("-0.1")
    assert portfolio.apply_funding("ETHUSDT", Decimal("0.0001"), Decimal(2_000)) == 0  # no position, no payment
    portfolio.apply(Fill("l", "BTCUSDT", Side.SELL, Decimal("0.020"), Decimal(99_000), Decimal(0), 1, True, "flip"))
    assert portfolio.apply_funding("BTCUSDT", Decimal("0.0001"), Decimal(100_000)) == Decimal("0.1")
    assert portfolio.funding == 0
    assert portfolio.cash == Decimal(1000) + portfolio.realized - portfolio.fees + portfolio.funding
