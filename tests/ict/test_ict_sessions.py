"""Killzones follow New York wall time across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from ictbot.data.frame import CandleFrame
from ictbot.domain import Timeframe
from ictbot.ict.batch import detect_frame
from ictbot.ict.config import IctConfig
from ictbot.ict.sessions import Killzone, killzone_of


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("utc", "zone"),
    [
        # Winter (EST, UTC−5): London 02:00–05:00 New York = 07:00–10:00 UTC.
        ("2025-01-15T06:59", None),
        ("2025-01-15T07:00", "london"),
        ("2025-01-15T09:59", "london"),
        ("2025-01-15T10:00", None),
        # Summer (EDT, UTC−4): the same window is 06:00–09:00 UTC.
        ("2025-07-15T06:00", "london"),
        ("2025-07-15T09:00", None),
        # NY AM 07:00–10:00 EDT = 11:00–14:00 UTC; NY PM 13:30–16:00 EDT = 17:30–20:00 UTC.
        ("2025-07-15T11:00", "ny_am"),
        ("2025-07-15T17:29", None),
        ("2025-07-15T17:30", "ny_pm"),
        # Asia 20:00–24:00 EDT = 00:00–04:00 UTC of the next day.
        ("2025-07-16T00:00", "asia"),
        ("2025-07-16T03:59", "asia"),
        # 2025-03-09: New York jumps from 02:00 EST to 03:00 EDT at 07:00 UTC; London opens at 07:00 UTC (03:00 EDT)
        # and ends at 09:00 UTC (05:00 EDT).
        ("2025-03-09T06:59", None),
        ("2025-03-09T07:00", "london"),
        ("2025-03-09T09:00", None),
    ],
)
def test_killzone_of_a_candle_uses_new_york_local_time(utc, zone):
    assert killzone_of(ms(utc)) == zone


def test_session_ranges_span_the_window_and_are_known_at_its_last_candle():
    start = ms("2025-07-15T05:00")
    n = 6 * 60
    high = 100 + np.arange(n, dtype=float)
    frame = CandleFrame(start + 60_000 * np.arange(n), high - 1, high, high - 2, high - 0.5, np.ones(n), Timeframe.M1)
    (london,) = [r for r in detect_frame(frame).sessions.records() if r.name == "london"]
    assert london.formed_at == ms("2025-07-15T06:00")
    assert london.known_at == ms("2025-07-15T08:59")
    assert (london.bottom, london.top) == (high[60] - 2, high[239])


def test_custom_killzones_replace_the_defaults():
    zone = Killzone.parse("silver_bullet", "10:00", "11:00")
    start = ms("2025-01-15T14:30")
    n = 120
    frame = CandleFrame(
        start + 60_000 * np.arange(n), np.ones(n), np.ones(n) * 2, np.zeros(n), np.ones(n), np.ones(n), Timeframe.M1
    )
    records = detect_frame(frame, IctConfig(killzones=(zone,))).sessions.records()
    assert [(r.name, r.formed_at, r.known_at) for r in records] == [
        ("silver_bullet", ms("2025-01-15T15:00"), ms("2025-01-15T15:59"))
    ]


def test_a_window_must_stay_within_one_day():
    with pytest.raises(ValueError, match="start < end"):
        Killzone.parse("overnight", "22:00", "02:00")
