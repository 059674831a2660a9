"""Detector timelines shared between trials: the detectors depend on the candles and the detector settings only.

An optimisation varies mostly the strategy's decisions (windows, targets, buffers), not what the detectors find, so
the second and later trials of a worker read the timelines the first one built. The key is the candles' identity
(symbol, timeframe, span, a digest of the closes) and the detector configuration; a trial changing the swing length
builds its own. The emission schedules (the resampled timeframes and which base candle releases each candle) depend on
the candles and the strategy's timeframes only, and are shared the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from ictbot.backtest import runner
from ictbot.candles.schedule import EmissionSchedule
from ictbot.data.frame import CandleFrame
from ictbot.domain import Timeframe
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


class ScheduleCache:
    """Emission schedules by candles and timeframes (a schedule is never changed by the run reading it)."""

    def __init__(self) -> None:
        self._schedules: dict[tuple, EmissionSchedule] = {}

    def __call__(self, frame: CandleFrame, timeframes: set[Timeframe]) -> EmissionSchedule:
        key = (frame.symbol, frame.timeframe, len(frame), _digest(frame), frozenset(timeframes))
        schedule = self._schedules.get(key)
        if schedule is None:
            if len(self._schedules) >= _MAX_ENTRIES:
                self._schedules.pop(next(iter(self._schedules)))
            schedule = self._schedules[key] = EmissionSchedule(frame, timeframes)
        return schedule


def _digest(frame: CandleFrame) -> bytes:
    if len(frame) == 0:
        return b""
    h = hashlib.blake2b(digest_size=16)
    for column in (frame.open_time, frame.high, frame.low, frame.close):
        h.update(column.tobytes())
    return h.digest()


_shared = TimelineCache()
_schedules = ScheduleCache()


@contextmanager
def reuse_detector_timelines(cache: TimelineCache | None = None) -> Iterator[TimelineCache]:
    """Within the block, every strategy's backtest host takes its timelines from ``cache`` (the process's) and every
    backtest its emission schedules from the process's schedule cache."""
    cache = cache or _shared
    original, original_schedule = host.IctTimeline, runner.EmissionSchedule
    host.IctTimeline = cache  # type: ignore[misc, assignment]
    runner.EmissionSchedule = _schedules  # type: ignore[misc, assignment]
    try:
        yield cache
    finally:
        host.IctTimeline = original  # type: ignore[misc]
        runner.EmissionSchedule = original_schedule  # type: ignore[misc]
