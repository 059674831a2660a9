"""A fast replay's equity snapshots, written many at a time: the same records as one by one, none lost or reordered."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from ictbot.kernel.samples import Samples
from ictbot.runtime.counters import Counters
from ictbot.runtime.recording import Recording
from ictbot.storage import BotIdentity
from ictbot.storage.models import EquitySnapshot

from .records import T0

MINUTE = 60_000
DAY = 86_400_000
# two minutes either side of midnight between 2024-01-01 and 2024-01-02 (UTC)
ACROSS_MIDNIGHT = [
    (T0 + DAY - 2 * MINUTE, Decimal("1000")),
    (T0 + DAY - MINUTE, Decimal("998.5")),
    (T0 + DAY, Decimal("1001.25")),
    (T0 + DAY + MINUTE, Decimal("1003")),
]


def writes(recorder) -> dict[str, int]:
    """Counts what reaches the database from now on: commits that wrote, lookups of equity times, alive marks."""
    seen = {"commits": 0, "equity lookups": 0, "alive marks": 0}

    @event.listens_for(recorder.engine, "before_cursor_execute")
    def count_statements(connection, _cursor, statement, *_args) -> None:
        sql = " ".join(statement.split()).upper()
        if sql.startswith("SELECT") and "FROM EQUITY_SNAPSHOTS" in sql:
            seen["equity lookups"] += 1
        if sql.startswith("UPDATE BOTS"):
            seen["alive marks"] += 1
        if sql.startswith(("INSERT", "UPDATE")):
            connection.info["wrote"] = True

    @event.listens_for(recorder.engine, "commit")
    def count_commits(connection) -> None:
        if connection.info.pop("wrote", False):
            seen["commits"] += 1

    return seen


def written(recorder) -> list[tuple[int, Decimal]]:
    """Every equity snapshot as (time, equity), in the order written."""
    with Session(recorder.engine) as session:
        return [
            tuple(row)
            for row in session.execute(select(EquitySnapshot.time, EquitySnapshot.equity).order_by(EquitySnapshot.id))
        ]


def days(recorder) -> list[tuple[str, Decimal, Decimal | None, Decimal | None]]:
    """Each day's (day, funding, opening equity, closing equity), oldest first."""
    return [(d.day, d.funding, d.equity_open, d.equity_close) for d in reversed(recorder.daily_pnl())]


def seen_at(recorder) -> int:
    with recorder.engine.connect() as connection:
        return connection.execute(text("SELECT seen_at FROM bots WHERE name = :n"), {"n": recorder.bot}).scalar_one()


def many_at_once(recorder, points) -> None:
    assert recorder.record_equity_many(points) == len(points)


def one_at_a_time(recorder, points) -> None:
    assert [recorder.record_equity(t, e) for t, e in points] == [True] * len(points)


@pytest.mark.parametrize(("record", "transactions"), [(many_at_once, 1), (one_at_a_time, 4)])
def test_a_batch_across_midnight_fills_both_days_and_marks_the_bot_alive_as_one_by_one_does(
    recorder, clock, record, transactions
):
    recorder.claim_bot(BotIdentity(recorder.bot, "simulated", ("BTCUSDT",)))
    recorder.record_funding("BTCUSDT", T0 + DAY + 8 * 60 * MINUTE, Decimal("-0.5"))  # the second day's row exists
    clock.now = T0 + 5_000
    seen = writes(recorder)
    record(recorder, ACROSS_MIDNIGHT)
    # one transaction and one lookup of the known times for the batch; one each a point
    assert dict(seen) == {"commits": transactions, "equity lookups": transactions, "alive marks": 1}

    assert written(recorder) == [
        (1_704_153_480_000, Decimal("1000")),
        (1_704_153_540_000, Decimal("998.5")),
        (1_704_153_600_000, Decimal("1001.25")),
        (1_704_153_660_000, Decimal("1003")),
    ]
    assert days(recorder) == [
        ("2024-01-01", Decimal("0"), Decimal("1000"), Decimal("998.5")),
        ("2024-01-02", Decimal("-0.5"), Decimal("1001.25"), Decimal("1003")),
    ]
    assert seen_at(recorder) == 1_704_067_205_000  # marked alive once: the clock stood still


def test_a_time_already_recorded_or_repeated_in_the_batch_keeps_its_first_equity(recorder):
    assert recorder.record_equity(T0, Decimal("1000"))
    batch = [
        (T0, Decimal("1111")),
        (T0 + MINUTE, Decimal("1001")),
        (T0 + MINUTE, Decimal("1222")),
        (T0 + 2 * MINUTE, Decimal("1002")),
    ]
    assert recorder.record_equity_many(batch) == 2
    assert recorder.record_equity_many(batch) == 0
    assert not recorder.record_equity(T0 + MINUTE, Decimal("1333"))

    assert written(recorder) == [
        (T0, Decimal("1000")),
        (T0 + MINUTE, Decimal("1001")),
        (T0 + 2 * MINUTE, Decimal("1002")),
    ]
    assert days(recorder) == [("2024-01-01", Decimal("0"), Decimal("1000"), Decimal("1002"))]


def test_a_batch_longer_than_one_lookup_is_recorded_whole_and_once(recorder):
    """More points than one ``IN (...)`` list holds (a backlog after a quiet window): every one is looked up."""
    points = [(T0 + i * MINUTE, Decimal(1000 + i)) for i in range(1_200)]
    assert recorder.record_equity_many(points[:700]) == 700
    assert recorder.record_equity_many(points) == 500
    assert written(recorder) == points
    [day] = recorder.daily_pnl()
    assert (day.equity_open, day.equity_close) == (Decimal("1000"), Decimal("2199"))


def recording_of(recorder) -> Recording:
    return Recording(recorder, Counters(), Samples(8))


def test_points_that_arrive_while_the_writer_is_busy_are_written_together_before_any_later_write(recorder):
    recording = recording_of(recorder)
    release = threading.Event()
    recording.writer.submit(release.wait, urgent=True)  # an order's write holds the writer
    points = [(T0 + i * MINUTE, Decimal(1000 + i)) for i in range(100)]
    for time, equity in points:
        recording.record_equity(time, equity)
    later = (T0 + 100 * MINUTE, Decimal("1100"))
    seen = writes(recorder)
    recording.record(recorder.record_equity, *later)  # a routine write queued after them, one point on its own
    release.set()
    recording.writer.submit(lambda: None).result(timeout=60)  # as Engine.records_written waits
    assert seen["equity lookups"] == 2  # the hundred buffered points in one write, then the later one
    assert written(recorder) == [*points, later]
    recording.close()


def test_points_recorded_from_another_thread_during_a_write_go_in_the_next_one_all_in_order(recorder):
    recording = recording_of(recorder)
    points = [(T0 + i * MINUTE, Decimal(1000 + i)) for i in range(3_000)]
    batches: list[int] = []
    taken, proceed = threading.Event(), threading.Event()
    record_equity_many = recorder.record_equity_many

    def held_first_write(batch):
        batches.append(len(batch))
        if len(batches) == 1:
            taken.set()
            assert proceed.wait(timeout=60)
        return record_equity_many(batch)

    recorder.record_equity_many = held_first_write
    release = threading.Event()
    recording.writer.submit(release.wait, urgent=True)

    def candles() -> None:
        for time, equity in points[:1_000]:
            recording.record_equity(time, equity)
        release.set()
        assert taken.wait(timeout=60)  # the writer has taken the first thousand and is writing them
        for time, equity in points[1_000:]:
            recording.record_equity(time, equity)
        proceed.set()

    feed = threading.Thread(target=candles)
    feed.start()
    feed.join(timeout=120)
    assert not feed.is_alive() and proceed.is_set()
    recording.writer.submit(lambda: None).result(timeout=120)
    assert batches == [1_000, 2_000]
    assert written(recorder) == points
    recording.close()


def test_close_writes_the_buffered_points_and_a_point_after_close_is_refused(recorder):
    recording = recording_of(recorder)
    release = threading.Event()
    recording.writer.submit(release.wait, urgent=True)
    recording.record_equity(T0, Decimal("1000"))
    recording.record_equity(T0 + MINUTE, Decimal("1001"))
    closing = threading.Thread(target=recording.close)
    closing.start()  # asks the writer to stop while the points are still buffered
    release.set()
    closing.join(timeout=60)
    assert not closing.is_alive()
    assert written(recorder) == [(T0, Decimal("1000")), (T0 + MINUTE, Decimal("1001"))]
    with pytest.raises(RuntimeError, match="writer is closed"):
        recording.record_equity(T0 + 2 * MINUTE, Decimal("1002"))
    assert written(recorder) == [(T0, Decimal("1000")), (T0 + MINUTE, Decimal("1001"))]
