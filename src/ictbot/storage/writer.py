"""One thread for every database write, orders first.

SQLite has one write lock: two writing threads would wait on each other through SQLite's sleeping busy handler
(milliseconds at a time), and an order would queue behind equity and evidence records. One thread with two lanes
keeps writes in order within each lane and lets an order's write go next, whatever is queued in the other lane.

A routine write is Python code (the ORM) that holds the interpreter lock for milliseconds, and the event loop needs
that lock to send an order. ``quiet()`` keeps routine writes waiting while the engine handles a burst of klines (and
sends their entries), for at most ``QUIET_S``, so a forgotten ``resume()`` can delay records but never stop them. On
Linux the thread also runs at a lower scheduling priority, so that when every core is busy the event loop runs first.

Routine records that queue up behind each other (a fast replay writes an equity snapshot per candle) are committed
together when the writer is given a ``group`` (the recorder's ``grouped``): one transaction and one disk sync for up to
``GROUP_MAX`` of them instead of one each. A group ends as soon as an urgent write or ``quiet()`` is waiting, and each
record in it still lands whole or not at all on its own. Their futures resolve only once the group is committed, so
awaiting any write still means it is on disk. Urgent writes (an order's) are never grouped: each is its own commit.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any

URGENT, ROUTINE, CLOSE = 0, 1, 2
QUIET_S = 0.05
WRITER_NICE = 10  # below the event loop's thread: on a busy machine the loop gets the CPU first
GROUP_MAX = 50  # routine records per group commit: bounds what one failed commit can lose, and the write lock's hold

log = logging.getLogger("ictbot.recorder")


class _Call:
    """One submitted write: run on the writer thread, its future resolved once what it wrote is committed."""

    __slots__ = ("args", "fn", "future", "kwargs", "outcome")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.future: Future[Any] = Future()
        self.outcome: tuple[bool, Any] | None = None  # (succeeded, result or exception); None if cancelled

    def run(self) -> None:
        if self.future.set_running_or_notify_cancel():
            try:
                self.outcome = (True, self.fn(*self.args, **self.kwargs))
            except BaseException as exc:
                self.outcome = (False, exc)

    def settle(self, failed_commit: BaseException | None = None) -> None:
        if self.outcome is None:
            return
        succeeded, value = self.outcome
        if succeeded and failed_commit is None:
            self.future.set_result(value)
        else:
            self.future.set_exception(value if not succeeded else failed_commit)


class RecordWriter:
    """``submit(fn, *args, urgent=False)`` runs ``fn`` on the writer thread and returns its ``Future``."""

    def __init__(
        self, name: str = "ictbot-recorder", group: Callable[[], AbstractContextManager[Any]] | None = None
    ) -> None:
        """``group`` opens one transaction that the routine writes made inside share (see the module's docstring)."""
        self._group = group
        self._items: list[tuple[int, int, _Call | None]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._quiet = 0  # quiet() calls not yet resumed
        self._quiet_until = 0.0  # time.monotonic() at which routine writes go ahead anyway
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, urgent: bool = False, **kwargs: Any) -> Future[Any]:
        call = _Call(fn, args, kwargs)
        self._put(URGENT if urgent else ROUTINE, call)
        return call.future

    def quiet(self) -> None:
        """Hold routine writes (urgent ones still run) until every ``quiet()`` is resumed, or ``QUIET_S`` passes."""
        with self._changed:
            self._quiet += 1
            self._quiet_until = time.monotonic() + QUIET_S

    def resume(self) -> None:
        with self._changed:
            self._quiet = max(0, self._quiet - 1)
            self._changed.notify()

    def close(self) -> None:
        """Finish everything queued, then stop the thread."""
        self._put(CLOSE, None)
        self._thread.join()

    def _put(self, lane: int, call: _Call | None) -> None:
        with self._changed:
            if self._closed:  # nothing would ever run it: its future would stay pending for ever
                raise RuntimeError("the recorder's writer is closed: the bot has stopped recording")
            self._closed = lane == CLOSE
            heapq.heappush(self._items, (lane, next(self._order), call))
            self._changed.notify()

    def _next(self) -> tuple[int, _Call | None]:
        with self._changed:
            while True:
                if self._items:
                    lane = self._items[0][0]
                    wait = self._quiet_until - time.monotonic() if self._quiet and lane == ROUTINE else 0.0
                    if wait <= 0:
                        if self._quiet and lane == ROUTINE:
                            self._quiet = 0  # the window ran out: whatever was not resumed is forgotten
                        return lane, heapq.heappop(self._items)[2]
                    self._changed.wait(wait)
                else:
                    self._changed.wait()

    def _next_in_group(self) -> _Call | None:
        """The next routine write if one is queued and nothing should go first (an urgent write, a quiet window)."""
        with self._changed:
            if self._items and self._items[0][0] == ROUTINE and not self._quiet:
                return heapq.heappop(self._items)[2]
            return None

    def _run(self) -> None:
        if sys.platform == "linux":  # there, a thread's id is a valid target for setpriority
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
        while True:
            lane, call = self._next()
            if call is None:
                return
            if lane == ROUTINE and self._group is not None:
                self._run_group(self._group, call)
            else:
                call.run()
                call.settle()

    def _run_group(self, group: Callable[[], AbstractContextManager[Any]], call: _Call | None) -> None:
        calls: list[_Call] = []
        try:
            with group():
                while call is not None:
                    calls.append(call)
                    call.run()
                    call = self._next_in_group() if len(calls) < GROUP_MAX else None
        except Exception as exc:
            if not calls:  # the group's transaction could not begin: the write tries on its own, as when ungrouped
                call.run()
                call.settle()
                return
            # the commit failed: none of the group's records is on disk
            log.exception("recording %d queued records failed at their commit; trading continues", len(calls))
            failure: BaseException | None = exc
        else:
            failure = None
        for done in calls:
            done.settle(failure)
