"""The intent journal: an entry written there before it is sent is never lost to a crash, and never recorded twice."""

from __future__ import annotations

from ictbot.storage import OrderState, Recorder
from ictbot.storage.journal import IntentJournal

from .records import T0, make_intent, make_signal


def test_a_journalled_intent_the_database_lacks_is_restored_as_sent_and_linked_to_its_signal(
    recorder: Recorder, tmp_path
):
    journal = IntentJournal(tmp_path / "intents.journal")
    first, second = make_intent(make_signal(T0)), make_intent(make_signal(T0 + 60_000, entry=42_200.5))
    recorder.record_signal(first.signal, first)  # its evidence landed; the intent itself did not
    journal.write(first)
    journal.write(second)
    journal.close()  # the process dies here

    again = IntentJournal(tmp_path / "intents.journal")
    assert again.restore(recorder) == [first.client_order_id, second.client_order_id]

    for intent in (first, second):
        order = recorder.order_by_client_id(intent.client_order_id)
        assert order.state == OrderState.SENT
        assert (order.intent.quantity, order.intent.price, order.intent.stop) == (
            intent.quantity, intent.price, intent.stop,
        )  # fmt: skip
        assert order.transitions[-1].payload == {"note": "restored from the intent journal"}
    assert recorder.order_by_client_id(first.client_order_id).intent.signal_id is not None
    assert again.restore(recorder) == []  # emptied: a second start restores nothing
    again.close()


def test_an_intent_the_database_already_holds_is_left_as_it_is(recorder: Recorder, tmp_path):
    intent = make_intent()
    journal = IntentJournal(tmp_path / "intents.journal")
    journal.write(intent)
    recorder.record_entry_sent(intent)
    recorder.record_order_transition(intent.client_order_id, OrderState.FILLED)
    assert journal.restore(recorder) == []
    order = recorder.order_by_client_id(intent.client_order_id)
    assert order.state == OrderState.FILLED
    assert [t.state for t in order.transitions] == ["intent", "sent", "filled"]
    journal.close()


def test_a_line_cut_short_by_a_crash_is_skipped_and_the_others_restored(recorder: Recorder, tmp_path, caplog):
    path = tmp_path / "intents.journal"
    journal = IntentJournal(path)
    intent = make_intent()
    journal.write(intent)
    journal.close()
    with path.open("a") as file:
        file.write('{"id":"ict-torn","symbol":"BTC')  # the process died inside the write
    assert IntentJournal(path).restore(recorder) == [intent.client_order_id]
    assert "line 2 is unreadable" in caplog.text


def test_the_journal_empties_once_the_database_holds_every_intent(tmp_path):
    path = tmp_path / "intents.journal"
    journal = IntentJournal(path)
    first, second = make_intent(make_signal(T0)), make_intent(make_signal(T0 + 60_000))
    journal.write(first)
    journal.write(second)
    journal.recorded(first.client_order_id)
    assert len(path.read_text().splitlines()) == 2  # the second is still only here
    journal.recorded(second.client_order_id)
    assert path.read_text() == ""
    journal.close()


def test_closing_the_journal_twice_leaves_a_file_opened_since_alone(tmp_path):
    journal = IntentJournal(tmp_path / "intents.journal")
    journal.close()
    with open(tmp_path / "other", "wb") as other:  # may be given the descriptor the journal had
        journal.close()
        other.write(b"still open")
    assert (tmp_path / "other").read_bytes() == b"still open"
