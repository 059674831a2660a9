"""The one writer thread: an order's write goes ahead of queued routine records; nothing queued is lost."""

from __future__ import annotations

import threading

import pytest

from ictbot.storage.writer import RecordWriter


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
