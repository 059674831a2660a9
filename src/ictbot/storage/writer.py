"""One thread for every database write, orders first.

SQLite has one write lock: two writing threads would wait on each other through SQLite's sleeping busy handler
(milliseconds at a time), and an order would queue behind equity and evidence records. One thread with two lanes
keeps writes in order within each lane and lets an order's write go next, whatever is queued in the other lane.

A routine write is Python code (the ORM) that holds the interpreter lock for milliseconds, and the event loop needs
that lock to send an order. ``quiet()`` keeps routine writes waiting while the engine handles a burst of klines (and
sends their entries), for at most ``QUIET_S``, so a forgotten ``resume()`` can delay records but never stop them. On
Linux the thread also runs at a lower scheduling priority, so that when every core is busy the event loop runs first.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

URGENT, ROUTINE, CLOSE = 0, 1, 2
QUIET_S = 0.05
WRITER_NICE = 10  # below the event loop's thread: on a busy machine the loop gets the CPU first


class RecordWriter:
    """``submit(fn, *args, urgent=False)`` runs ``fn`` on the writer thread and returns its ``Future``."""

    def __init__(self, name: str = "ictbot-recorder") -> None:
        self._items: list[tuple[int, int, Callable[[], None] | None]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._quiet = 0  # quiet() calls not yet resumed
        self._quiet_until = 0.0  # time.monotonic() at which routine writes go ahead anyway
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, urgent: bool = False, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def call() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:
                    future.set_exception(exc)

        self._put(URGENT if urgent else ROUTINE, call)
        return future

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

    def _put(self, lane: int, call: Callable[[], None] | None) -> None:
        with self._changed:
            if self._closed:  # nothing would ever run it: its future would stay pending for ever
                raise RuntimeError("the recorder's writer is closed: the bot has stopped recording")
            self._closed = lane == CLOSE
            heapq.heappush(self._items, (lane, next(self._order), call))
            self._changed.notify()

    def _next(self) -> Callable[[], None] | None:
        with self._changed:
            while True:
                if self._items:
                    lane = self._items[0][0]
                    wait = self._quiet_until - time.monotonic() if self._quiet and lane == ROUTINE else 0.0
                    if wait <= 0:
                        if self._quiet and lane == ROUTINE:
                            self._quiet = 0  # the window ran out: whatever was not resumed is forgotten
                        return heapq.heappop(self._items)[2]
                    self._changed.wait(wait)
                else:
                    self._changed.wait()

    def _run(self) -> None:
        if sys.platform == "linux":  # there, a thread's id is a valid target for setpriority
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WRITER_NICE)
        while (call := self._next()) is not None:
            call()
