"""Detector timelines shared between trials: the detectors depend on the candles and the detector settings only.

An optimisation varies mostly the strategy's decisions (windows, targets, buffers), not what the detectors find, so
the second and later trials of a worker read the timelines the first one built. The key is the candles' identity
(symbol, timeframe, span, a digest of the closes) and the detector configuration; a trial changing the swing length
builds its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from ictbot.data.frame import CandleFrame
from ictbot.ict.config import IctConfig
from ictbot.ict.timeline import IctTimeline
from ictbot.strategy import host

_MAX_ENTRIES = 64


class TimelineCache:
    def __init__(self) -> None:
        self._timelines: dict[tuple, IctTimeline] = {}
        self.built = 0
        self.reused = 0

    def __call__(self, frame: CandleFrame, config: IctConfig | None = None) -> IctTimeline:
        key = (frame.symbol, frame.timeframe, len(frame), _digest(frame), config or IctConfig())
        timeline = self._timelines.get(key)
        if timeline is None:
            if len(self._timelines) >= _MAX_ENTRIES:
                self._timelines.pop(next(iter(self._timelines)))
            timeline = self._timelines[key] = IctTimeline(frame, config)
            self.built += 1
        else:
            self.reused += 1
        return timeline


def _digest(frame: CandleFrame) -> bytes:
    if len(frame) == 0:
        return b""
    h = hashlib.blake2b(digest_size=16)
    for column in (frame.open_time, frame.high, frame.low, frame.close):
        h.update(column.tobytes())
    return h.digest()


_shared = TimelineCache()


@contextmanager
def reuse_detector_timelines(cache: TimelineCache | None = None) -> Iterator[TimelineCache]:
    """Within the block, every strategy's backtest host takes its timelines from ``cache`` (the process's)."""
    cache = cache or _shared
    original = host.IctTimeline
    host.IctTimeline = cache  # type: ignore[misc, assignment]
    try:
        yield cache
    finally:
        host.IctTimeline = original  # type: ignore[misc]
