"""The one writer thread: an order's write goes ahead of queued routine records; nothing queued is lost."""

from __future__ import annotations

import threading
import time

import pytest

from ictbot.storage.writer import QUIET_S, RecordWriter


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
