"""Orders keep every state they went through, when, and what the venue said."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ictbot.domain import Side
from ictbot.storage import OrderState, StorageError

from .records import T0, make_intent, make_signal


def test_an_order_lifecycle_is_kept_in_order_with_times_and_payloads(recorder):
    intent = make_intent()
    cid = intent.client_order_id
    recorder.record_intent(intent, at=T0)
    recorder.record_order_transition(cid, OrderState.SENT, None, T0 + 10)
    ack = {"orderId": 4011, "status": "NEW", "price": "42123.40", "origQty": "0.003"}
    recorder.record_order_transition(cid, OrderState.ACKNOWLEDGED, ack, T0 + 25, venue_order_id="4011")
    recorder.record_order_transition(cid, OrderState.PARTIALLY_FILLED, {"executedQty": "0.001"}, T0 + 60_000)
    recorder.record_order_transition(cid, OrderState.FILLED, {"executedQty": "0.003"}, T0 + 61_000)

    order = recorder.order_by_client_id(cid)
    assert (order.state, order.venue_order_id, order.updated_at) == ("filled", "4011", T0 + 61_000)
    history = [(t.state, t.time, t.payload) for t in order.transitions]
    assert history == [
        ("intent", T0, None),
        ("sent", T0 + 10, None),
        ("acknowledged", T0 + 25, ack),
        ("partially_filled", T0 + 60_000, {"executedQty": "0.001"}),
        ("filled", T0 + 61_000, {"executedQty": "0.003"}),
    ]
    assert recorder.open_intents() == []


def test_late_and_repeated_venue_events_never_move_an_order_back(recorder):
    intent = make_intent()
    cid = intent.client_order_id
    recorder.record_intent(intent, at=T0)
    assert recorder.record_order_transition(cid, OrderState.FILLED, {"status": "FILLED"}, T0 + 50)
    assert not recorder.record_order_transition(cid, OrderState.ACKNOWLEDGED, {"status": "NEW"}, T0 + 20)
    assert not recorder.record_order_transition(cid, OrderState.CANCELLED, {"status": "CANCELED"}, T0 + 70)
    assert not recorder.record_order_transition(cid, OrderState.FILLED, {"status": "FILLED"}, T0 + 50)

    order = recorder.order_by_client_id(cid)
    assert order.state == "filled"
    assert [t.state for t in order.transitions] == ["intent", "filled", "acknowledged", "cancelled"]


def test_an_unknown_outcome_stays_open_until_the_venue_answers(recorder):
    intent = make_intent()
    cid = intent.client_order_id
    recorder.record_intent(intent, at=T0)
    recorder.record_order_transition(cid, OrderState.SENT, None, T0 + 1)
    recorder.record_order_transition(cid, OrderState.UNKNOWN, {"error": "503 unknown status"}, T0 + 2)
    assert [(o.client_order_id, o.state) for o in recorder.open_intents()] == [(cid, "unknown")]

    assert recorder.record_order_transition(cid, OrderState.ACKNOWLEDGED, {"status": "NEW"}, T0 + 3)
    assert recorder.order_by_client_id(cid).state == "acknowledged"


def test_open_intents_lists_every_unfinished_order_oldest_first(recorder):
    first, second, third = (make_intent(make_signal(created_at=T0 + i * 300_000)) for i in range(3))
    for i, intent in enumerate((first, second, third)):
        recorder.record_intent(intent, at=T0 + i)
    recorder.record_order_transition(second.client_order_id, OrderState.REJECTED, {"code": -2019}, T0 + 5)
    recorder.record_order_transition(third.client_order_id, OrderState.SENT, None, T0 + 6)

    assert [o.client_order_id for o in recorder.open_intents()] == [first.client_order_id, third.client_order_id]
    assert [o.client_order_id for o in recorder.orders(open_only=True)] == [
        third.client_order_id,
        first.client_order_id,
    ]


def test_protective_stop_is_persisted_once_as_a_reduce_only_child_of_its_entry(recorder):
    entry = make_intent()
    recorder.record_intent(entry, at=T0)
    for at, trigger in ((T0 + 9, "41980.0"), (T0 + 10, "1")):
        recorder.record_exit_intent(
            "ict-sl-1",
            "BTCUSDT",
            Side.SELL,
            "STOP_MARKET",
            purpose="stop_loss",
            trigger_price=Decimal(trigger),
            parent_client_order_id=entry.client_order_id,
            at=at,
        )

    stop = recorder.order_by_client_id("ict-sl-1")
    assert (stop.state, stop.created_at) == ("intent", T0 + 9)
    assert (stop.intent.purpose, stop.intent.order_type, stop.intent.reduce_only) == ("stop_loss", "STOP_MARKET", True)
    assert (stop.intent.trigger_price, stop.intent.quantity) == (Decimal("41980.0"), None)
    assert stop.intent.parent_client_order_id == entry.client_order_id
    assert len(recorder.orders()) == 2


def test_a_transition_for_an_order_never_recorded_is_refused_with_what_to_do(recorder):
    with pytest.raises(StorageError, match="record its intent first"):
        recorder.record_order_transition("never-seen", OrderState.SENT, None, T0)


def test_orders_without_history_refuse_to_load_it_lazily(recorder):
    recorder.record_intent(make_intent(), at=T0)
    [order] = recorder.orders(with_history=False)
    with pytest.raises(Exception, match="lazy"):
        _ = order.transitions
