"""What a restart or a repeated venue event writes again is recorded once (issue #7 relies on it)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from ictbot.storage.models import FillRecord, Order, OrderIntentRecord, OrderTransition, RiskDecision, SignalRecord

from .records import T0, make_fill, make_intent, make_rejection, make_signal


def count(recorder, model) -> int:
    with recorder.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def test_second_intent_with_the_same_client_order_id_changes_nothing(recorder, clock):
    intent = make_intent()
    recorder.record_intent(intent)
    clock.now += 5_000
    recorder.record_intent(intent)
    recorder.record_intent(make_intent(quantity="0.999"))  # same signal → same client order id

    assert (count(recorder, OrderIntentRecord), count(recorder, Order), count(recorder, OrderTransition)) == (1, 1, 1)
    order = recorder.order_by_client_id(intent.client_order_id)
    assert (order.intent.quantity, order.created_at) == (Decimal("0.003"), clock.now - 5_000)


def test_intent_survives_a_new_recorder_on_the_same_file(db_url, clock):
    from ictbot.storage import open_recorder

    intent = make_intent()
    first = open_recorder(db_url, clock)
    first.record_intent(intent)
    first.engine.dispose()
    second = open_recorder(db_url, clock)
    second.record_intent(intent)
    assert [o.client_order_id for o in second.open_intents()] == [intent.client_order_id]
    second.engine.dispose()


def test_a_signal_seen_again_after_a_restart_is_recorded_once(recorder):
    signal = make_signal()
    recorder.record_signal(signal, make_intent(signal))
    recorder.record_signal(signal, make_rejection(signal))
    assert (count(recorder, SignalRecord), count(recorder, RiskDecision)) == (1, 1)
    assert recorder.signals()[0].decision.accepted


def test_fill_with_a_known_trade_id_is_not_counted_twice(recorder):
    intent = make_intent()
    recorder.record_intent(intent)
    fill = make_fill(intent.client_order_id, "0.003", "42000", "0.025")
    assert recorder.record_fill(fill, trade_id="987654")
    assert not recorder.record_fill(fill, trade_id="987654")
    assert count(recorder, FillRecord) == 1
    assert recorder.order_by_client_id(intent.client_order_id).filled_quantity == Decimal("0.003")
    assert recorder.daily_pnl()[0].fees == Decimal("0.025")


def test_fills_without_a_trade_id_are_all_kept(recorder):
    fill = make_fill("cid", "0.001", "42000")
    assert recorder.record_fill(fill) and recorder.record_fill(fill)
    assert count(recorder, FillRecord) == 2


def test_funding_and_equity_are_recorded_once_per_time(recorder):
    assert recorder.record_funding("BTCUSDT", T0, Decimal("-0.1"))
    assert not recorder.record_funding("BTCUSDT", T0, Decimal("-0.1"))
    assert recorder.record_funding("ETHUSDT", T0, Decimal("-0.2"))
    assert recorder.record_equity(T0, Decimal("1000"))
    assert not recorder.record_equity(T0, Decimal("1000"))
    [day] = recorder.daily_pnl()
    assert (day.funding, day.equity_open) == (Decimal("-0.3"), Decimal("1000"))


def test_records_made_atomically_land_together_or_not_at_all(recorder):
    """The order manager writes a signal, its intent and the send mark in one transaction before sending."""
    intent = make_intent()
    try:
        with recorder.atomically():
            recorder.record_signal(intent.signal, intent)
            recorder.record_intent(intent)
            raise RuntimeError("the disk is full")
    except RuntimeError:
        pass
    assert (count(recorder, SignalRecord), count(recorder, Order)) == (0, 0)

    with recorder.atomically():
        recorder.record_signal(intent.signal, intent)
        recorder.record_intent(intent)
        recorder.record_order_transition(intent.client_order_id, "sent")
    order = recorder.order_by_client_id(intent.client_order_id)
    assert [t.state for t in order.transitions] == ["intent", "sent"] and order.intent.signal_id is not None


def test_an_intent_recorded_before_its_signal_is_linked_to_it(recorder):
    intent = make_intent()
    recorder.record_intent(intent)  # the order manager persists the intent first, then sends it
    recorder.record_signal(intent.signal, intent)  # the evidence follows on the engine's writer
    signal = recorder.signals()[0]
    assert recorder.order_by_client_id(intent.client_order_id).intent.signal_id == signal.id
