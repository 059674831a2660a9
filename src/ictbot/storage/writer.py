"""One thread for every database write, orders first.

SQLite has one write lock: two writing threads would wait on each other through SQLite's sleeping busy handler
(milliseconds at a time), and an order would queue behind equity and evidence records. One thread with two lanes
keeps writes in order within each lane and lets an order's write go next, whatever is queued in the other lane.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

URGENT, ROUTINE = 0, 1


class RecordWriter:
    """``submit(fn, *args, urgent=False)`` runs ``fn`` on the writer thread and returns its ``Future``."""

    def __init__(self, name: str = "ictbot-recorder") -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], None] | None]] = queue.PriorityQueue()
        self._order = itertools.count()
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

        self._queue.put((URGENT if urgent else ROUTINE, next(self._order), call))
        return future

    def close(self) -> None:
        """Finish everything queued, then stop the thread."""
        self._queue.put((ROUTINE + 1, next(self._order), None))
        self._thread.join()

    def _run(self) -> None:
        while True:
            _, _, call = self._queue.get()
            if call is None:
                return
            call()
