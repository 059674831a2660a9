"""The one writer thread: an order's write goes ahead of queued routine records; nothing queued is lost."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest
from sqlalchemy import event

from ictbot.storage.writer import QUIET_S, RecordWriter

from .records import T0

MINUTE = 60_000


def test_an_urgent_write_runs_before_queued_routine_ones_and_close_drains_the_rest():
    writer = RecordWriter()
    release = threading.Event()
    done: list[str] = []
    writer.submit(release.wait)  # the thread is busy with one write while the others queue
    routine = [writer.submit(done.append, f"routine-{i}") for i in range(3)]
    urgent = writer.submit(done.append, "order", urgent=True)
    release.set()
    urgent.result(timeout=10)
    writer.close()
    assert done == ["order", "routine-0", "routine-1", "routine-2"]
    assert all(f.done() for f in routine)


def test_a_failed_write_is_raised_to_its_caller_and_the_writer_goes_on():
    writer = RecordWriter()

    def fail() -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        writer.submit(fail, urgent=True).result(timeout=10)
    assert writer.submit(lambda: 42).result(timeout=10) == 42
    writer.close()


def test_a_write_submitted_after_close_is_refused_at_once_instead_of_waiting_for_ever():
    writer = RecordWriter()
    writer.close()
    with pytest.raises(RuntimeError, match="writer is closed"):
        writer.submit(lambda: None)
    with pytest.raises(RuntimeError, match="writer is closed"):
        writer.close()


def test_routine_writes_wait_while_quiet_urgent_ones_do_not_and_resume_lets_them_go():
    writer = RecordWriter()
    done: list[str] = []
    writer.quiet()
    routine = writer.submit(done.append, "equity")
    urgent = writer.submit(done.append, "order", urgent=True)
    urgent.result(timeout=10)
    assert done == ["order"] and not routine.done()
    writer.resume()
    routine.result(timeout=10)
    writer.close()
    assert done == ["order", "equity"]


def test_a_quiet_window_never_resumed_ends_by_itself():
    writer = RecordWriter()
    writer.quiet()
    started = time.monotonic()
    writer.submit(lambda: None).result(timeout=10)
    assert QUIET_S * 0.5 <= time.monotonic() - started < 10
    writer.close()


def test_queued_routine_records_share_one_commit_each_whole_on_its_own_and_resolve_once_committed(recorder):
    """A fast replay queues an equity record per candle: they go to disk in one transaction, a write that fails is
    rolled back alone, and a write's future resolves only when a reader on another connection can see it."""
    commits: list[int] = []

    @event.listens_for(recorder.engine, "before_cursor_execute")
    def mark_writes(connection, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            connection.info["wrote"] = True

    @event.listens_for(recorder.engine, "commit")
    def count_writing_commits(connection) -> None:
        if connection.info.pop("wrote", False):
            commits.append(1)

    def half_written() -> None:
        with recorder.atomically():
            recorder.record_equity(T0 + 99 * MINUTE, 1)
            raise RuntimeError("disk full")

    writer = RecordWriter(group=recorder.grouped)
    release = threading.Event()
    writer.submit(release.wait, urgent=True)  # an order's write: never grouped; the routine ones queue behind it
    seen: list[int] = []

    def equity(minute: int) -> Future:
        future = writer.submit(recorder.record_equity, T0 + minute * MINUTE, 1000 + minute)
        future.add_done_callback(lambda _f: seen.append(len(recorder.equity_curve())))
        return future

    first = [equity(m) for m in (1, 2, 3)]
    failed = writer.submit(half_written)
    last = equity(4)
    release.set()
    assert [f.result(timeout=10) for f in [*first, last]] == [True] * 4
    with pytest.raises(RuntimeError, match="disk full"):
        failed.result(timeout=10)
    writer.close()
    assert [float(p.equity) for p in recorder.equity_curve()] == [1001, 1002, 1003, 1004]
    assert seen == [4, 4, 4, 4]  # each future resolved after the group's commit, never before
    assert len(commits) == 1
