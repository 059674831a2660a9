"""Every record type reads back as written; money and quantities exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import insert, text

from ictbot.domain import Fill, Position, Side
from ictbot.portfolio.ledger import Trade
from ictbot.storage import EventKind
from ictbot.storage.models import EquitySnapshot

from .records import T0, make_fill, make_intent, make_rejection, make_signal

EXACT = ["0.00000001", "123456789.123456789012345678", "1E-8", "-0.5", "0", "42123.40", "0.1"]


def same(a: Decimal, b: Decimal) -> bool:
    """Equal value *and* representation (digits and exponent)."""
    return a == b and a.as_tuple() == b.as_tuple()


def test_accepted_signal_keeps_its_prices_evidence_and_decision(recorder):
    signal = make_signal()
    intent = make_intent(signal)
    recorder.record_signal(signal, intent)

    [stored] = recorder.signals()
    assert (stored.symbol, stored.side, stored.order_type) == ("BTCUSDT", "BUY", "LIMIT")
    assert (float(stored.entry), float(stored.stop), float(stored.target)) == (signal.entry, signal.stop, signal.target)
    assert (stored.created_at, stored.expires_at, stored.reason) == (
        signal.created_at,
        signal.expires_at,
        signal.reason,
    )
    brk, gap = stored.evidence
    assert brk == {
        "record": "StructureBreak",
        "direction": 1,
        "top": 42_200.0,
        "bottom": 42_200.0,
        "formed_at": T0 - 900_000,
        "known_at": T0,
        "kind": "choch",
        "extreme": 0.0,
        "extreme_at": 0,
    }
    assert (gap["record"], gap["kind"], gap["top"], gap["bottom"]) == ("FairValueGap", "fvg", 42_123.4, 42_050.1)
    assert (gap["known_at"], gap["touched_at"], gap["filled_at"]) == (T0, T0 + 300_000, None)
    assert stored.decision.accepted
    assert stored.decision.client_order_id == intent.client_order_id
    assert recorder.rejections() == []


def test_rejected_signal_keeps_reason_code_and_detail(recorder):
    signal = make_signal()
    recorder.record_signal(signal, make_rejection(signal))

    [stored] = recorder.rejections()
    assert not stored.decision.accepted
    assert stored.decision.reason == "max_open_positions"
    assert stored.decision.detail == "3 positions or entries already open"
    assert stored.decision.time == signal.created_at
    assert recorder.rejections(reason="daily_loss_limit") == []


def test_intent_is_stored_as_asked_and_linked_to_its_signal(recorder, clock):
    signal = make_signal()
    intent = make_intent(signal, quantity="0.003")
    recorder.record_signal(signal, intent)
    recorder.record_intent(intent)

    order = recorder.order_by_client_id(intent.client_order_id)
    assert order.state == "intent"
    assert order.created_at == clock.now
    stored = order.intent
    assert stored.signal_id == recorder.signals()[0].id
    assert (stored.purpose, stored.symbol, stored.side, stored.order_type) == ("entry", "BTCUSDT", "BUY", "LIMIT")
    assert same(stored.quantity, Decimal("0.003"))
    assert same(stored.price, Decimal("42123.4"))
    assert same(stored.stop, Decimal("41980.0"))
    assert same(stored.target, Decimal("42409.1"))
    assert (stored.created_at, stored.expires_at, stored.reduce_only) == (intent.created_at, intent.expires_at, False)


@pytest.mark.parametrize("value", EXACT)
def test_money_round_trips_exactly_in_every_table(recorder, value):
    amount = Decimal(value)
    fill = Fill("cid-1", "BTCUSDT", Side.BUY, amount, amount, amount, T0, True, "entry")
    recorder.record_fill(fill, trade_id="t1", realized_pnl=amount)
    recorder.record_funding("BTCUSDT", T0, amount, rate=amount, position_quantity=amount)
    recorder.record_equity(T0, amount, wallet_balance=amount, unrealized_pnl=amount)
    recorder.record_position(Position("BTCUSDT", amount, amount), T0, mark=amount, unrealized_pnl=amount)
    recorder.record_trade(Trade("BTCUSDT", Side.BUY, T0, amount, amount, T0 + 1, amount, amount, amount, amount))

    [stored_fill] = recorder.fills()
    [equity] = recorder.equity_curve()
    [position] = recorder.positions()
    [day] = recorder.daily_pnl()
    [trade] = recorder.trades()
    values = [stored_fill.quantity, stored_fill.price, stored_fill.fee, stored_fill.realized_pnl]
    values += [equity.equity, equity.wallet_balance, equity.unrealized_pnl]
    values += [position.quantity, position.entry_price, position.mark_price, position.unrealized_pnl]
    values += [day.realized_pnl, day.fees, day.funding, day.equity_open]
    values += [trade.entry_price, trade.quantity, trade.exit_price, trade.fees, trade.realized, trade.funding]
    assert all(same(v, amount) for v in values), values


def test_money_column_refuses_a_float(recorder):
    with pytest.raises(Exception, match="money columns take Decimal"), recorder.engine.begin() as connection:
        connection.execute(insert(EquitySnapshot).values(time=T0, equity=0.1))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_money_is_stored_as_text_on_sqlite_so_nothing_passes_through_a_double(recorder):
    recorder.record_equity(T0, Decimal("123456789.123456789012345678"))
    with recorder.engine.connect() as connection:
        raw = connection.execute(text("SELECT equity, typeof(equity) FROM equity_snapshots")).one()
    assert tuple(raw) == ("123456789.123456789012345678", "text")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_money_is_an_unbounded_numeric_on_postgresql_and_keeps_its_scale(recorder):
    recorder.record_equity(T0, Decimal("123456789.123456789012345678"))
    recorder.record_equity(T0 + 1, Decimal("1.50"))
    with recorder.engine.connect() as connection:
        query = "SELECT equity::text, pg_typeof(equity)::text FROM equity_snapshots ORDER BY time"
        raw = connection.execute(text(query))
        assert [tuple(r) for r in raw] == [("123456789.123456789012345678", "numeric"), ("1.50", "numeric")]
    assert [e.equity for e in recorder.equity_curve()] == [Decimal("123456789.123456789012345678"), Decimal("1.50")]


def test_fills_update_their_order_and_the_day(recorder):
    intent = make_intent()
    recorder.record_intent(intent)
    cid = intent.client_order_id
    recorder.record_fill(make_fill(cid, "0.001", "42000", "0.0084"), trade_id="1")
    recorder.record_fill(make_fill(cid, "0.002", "42003", "0.0168", T0 + 1), trade_id="2", realized_pnl=Decimal("-1.2"))

    order = recorder.order_by_client_id(cid)
    assert order.filled_quantity == Decimal("0.003")
    assert order.average_price == Decimal("42002")
    [day] = recorder.daily_pnl()
    assert (day.day, day.fill_count) == ("2024-01-01", 2)
    assert day.fees == Decimal("0.0252")
    assert day.realized_pnl == Decimal("-1.2")
    assert day.net_pnl == Decimal("-1.2252")
    assert [f.trade_id for f in recorder.fills(client_order_id=cid)] == ["2", "1"]


def test_closed_round_trips_read_back_newest_entry_first_and_an_open_one_is_refused(recorder):
    """A running bot keeps no closed trade in memory: the recorder's copy is the trade history users see."""
    for i, symbol in enumerate(["BTCUSDT", "ETHUSDT", "BTCUSDT"]):
        trade = Trade(symbol, Side.SELL, T0 + i, Decimal(100), Decimal(2), T0 + 10 + i, Decimal(99), Decimal("0.1"))
        trade.realized, trade.exit_reason, trade.entry_reason = Decimal(2), "target", "bearish FVG"
        trade.client_order_id = f"ict-{i}"
        recorder.record_trade(trade)
    assert [t.client_order_id for t in recorder.trades()] == ["ict-2", "ict-1", "ict-0"]
    assert [t.client_order_id for t in recorder.trades(symbol="BTCUSDT", limit=1, offset=1)] == ["ict-0"]
    [last] = recorder.trades(limit=1)
    assert (last.side, last.exit_time, last.exit_reason, last.entry_reason) == (
        "SELL",
        T0 + 12,
        "target",
        "bearish FVG",
    )
    with pytest.raises(ValueError, match="still open; record it when closed"):
        recorder.record_trade(Trade("BTCUSDT", Side.BUY, T0, Decimal(1), Decimal(1)))
    assert len(recorder.trades()) == 3


def test_a_window_of_trades_larger_than_a_page_is_read_whole(recorder, monkeypatch):
    monkeypatch.setattr("ictbot.storage.reads.MAX_PAGE", 2)
    for i in range(7):
        trade = Trade("BTCUSDT", Side.BUY, T0 + i, Decimal(100), Decimal(1), T0 + 10 + i, Decimal(101), Decimal(1))
        trade.client_order_id = f"ict-{i}"
        recorder.record_trade(trade)
    assert len(recorder.trades(limit=5)) == 2
    assert [t.client_order_id for t in recorder.trades_from(1, 5)] == ["ict-5", "ict-4", "ict-3", "ict-2", "ict-1"]
    assert [t.client_order_id for t in recorder.trades_from(4, 5)] == ["ict-2", "ict-1", "ict-0"]


def test_funding_and_equity_fill_the_day_they_fall_in(recorder):
    day_ms = 86_400_000
    recorder.record_funding("BTCUSDT", T0 + 8 * 3_600_000, Decimal("-0.0123"), rate=Decimal("0.0001"))
    recorder.record_funding("ETHUSDT", T0 + 8 * 3_600_000, Decimal("0.0040"))
    recorder.record_funding("BTCUSDT", T0 + day_ms, Decimal("-0.5"))
    for minute, equity in enumerate(["1000", "998.5", "1001.25"]):
        recorder.record_equity(T0 + minute * 60_000, Decimal(equity))
    recorder.record_equity(T0 + day_ms, Decimal("1002"))

    second, first = recorder.daily_pnl()
    assert (first.day, first.funding, first.equity_open, first.equity_close) == (
        "2024-01-01",
        Decimal("-0.0083"),
        Decimal("1000"),
        Decimal("1001.25"),
    )
    assert (second.day, second.funding, second.equity_open, second.equity_close) == (
        "2024-01-02",
        Decimal("-0.5"),
        Decimal("1002"),
        Decimal("1002"),
    )
    first_day = recorder.equity_curve(end=T0 + 120_000)
    assert [e.equity for e in first_day] == [Decimal("1000"), Decimal("998.5"), Decimal("1001.25")]


def test_position_snapshots_and_the_open_positions_they_imply(recorder):
    recorder.record_position(Position("BTCUSDT", Decimal("0.003"), Decimal("42000")), T0, mark=Decimal("42100"))
    recorder.record_position(Position("ETHUSDT", Decimal("-0.5"), Decimal("2300")), T0, mark=Decimal("2310.5"))
    recorder.record_position(Position("ETHUSDT", Decimal(0), Decimal(0)), T0 + 60_000)

    assert recorder.positions(symbol="BTCUSDT")[0].unrealized_pnl == Decimal("0.300")
    assert [p.symbol for p in recorder.positions()] == ["ETHUSDT", "ETHUSDT", "BTCUSDT"]
    [open_position] = recorder.open_positions()
    assert (open_position.symbol, open_position.quantity) == ("BTCUSDT", Decimal("0.003"))


def test_run_and_events_say_what_happened_who_did_it_and_when(recorder, clock):
    from ictbot.config import load_settings

    run_id = recorder.start_run(load_settings(mode="paper", symbols=["BTCUSDT", "ETHUSDT"]))
    recorder.record_event(EventKind.STARTUP, "2 symbols, 2 timeframes")
    clock.now += 1000
    recorder.record_event(EventKind.READINESS, "not ready: BTCUSDT 5m stale", data={"ready": False, "age_ms": 610_000})
    clock.now += 1000
    recorder.record_event(EventKind.TASK_CRASH, "ValueError: boom", source="task:market-data")
    recorder.record_event(EventKind.CONTROL, "halt", source="api:127.0.0.1", at=clock.now + 5)
    recorder.stop_run("SIGTERM")

    events = recorder.events()
    assert [e.kind for e in events] == ["control", "task_crash", "readiness", "startup"]
    assert (events[0].source, events[0].time, events[0].run_id) == ("api:127.0.0.1", clock.now + 5, run_id)
    assert events[2].data == {"ready": False, "age_ms": 610_000}
    assert [e.detail for e in recorder.events(kind="task_crash")] == ["ValueError: boom"]
    [run] = recorder.runs()
    assert (run.mode, run.started_at, run.stopped_at, run.stop_reason) == (
        "paper",
        clock.now - 2000,
        clock.now,
        "SIGTERM",
    )
    assert run.config["symbols"] == ["BTCUSDT", "ETHUSDT"]
