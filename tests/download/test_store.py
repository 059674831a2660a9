"""The Parquet history store: month files, merge without duplicates, coverage and gaps, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.data.store import HistoryStore
from ictbot.domain import Timeframe
from ictbot.errors import DataError

from .conftest import DATA, assert_same

M1 = Timeframe.M1


def test_candles_round_trip_in_one_file_per_month(tmp_path: Path, link: CandleFrame) -> None:
    store = HistoryStore(tmp_path)
    assert store.write(link) == len(link)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")) == [
        "binance-um/LINKUSDT/1m/2023-02.parquet"
    ]
    assert_same(store.read("LINKUSDT", M1), link)
    assert store.series() == [("LINKUSDT", M1)]


def test_a_range_across_months_is_split_and_read_back_whole(tmp_path: Path) -> None:
    btc = load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather")
    june = int(np.searchsorted(btc.open_time, 1748736000000))  # 2025-06-01 00:00 UTC
    frame = btc.slice(june - 300, june + 200)
    store = HistoryStore(tmp_path)
    assert store.write(frame) == 500
    assert store.write(frame) == 0  # written twice, stored once
    files = sorted(p.name for p in (tmp_path / "binance-um" / "BTCUSDT" / "1m").iterdir())
    assert files == ["2025-05.parquet", "2025-06.parquet"]
    assert_same(store.read("BTCUSDT", M1), frame)
    assert_same(store.read("BTCUSDT", M1, int(frame.open_time[250]), int(frame.open_time[350])), frame.slice(250, 350))


def test_overlapping_writes_merge_sorted_without_duplicates(tmp_path: Path, link: CandleFrame) -> None:
    store = HistoryStore(tmp_path)
    assert store.write(link.slice(1000, 3000)) == 2000
    assert store.write(link.slice(0, 1500)) == 1000
    assert store.write(link.slice(2500, 4000)) == 1000
    assert_same(store.read("LINKUSDT", M1), link.slice(0, 4000))


def test_a_rewritten_candle_replaces_the_stored_one(tmp_path: Path, link: CandleFrame) -> None:
    store = HistoryStore(tmp_path)
    store.write(link.slice(0, 10))
    fixed = link.slice(5, 6)
    corrected = CandleFrame(
        fixed.open_time, fixed.open, fixed.high + 1, fixed.low, fixed.close, fixed.volume * 2, M1, "LINKUSDT"
    )
    assert store.write(corrected) == 0
    stored = store.read("LINKUSDT", M1)
    assert len(stored) == 10
    assert (stored.high[5], stored.volume[5]) == (link.high[5] + 1, link.volume[5] * 2)


def test_coverage_and_missing_spans_report_gaps(tmp_path: Path, link: CandleFrame) -> None:
    store = HistoryStore(tmp_path)
    assert store.coverage("LINKUSDT", M1) is None
    store.write(link.slice(0, 100))
    store.write(link.slice(150, 300))
    coverage = store.coverage("LINKUSDT", M1)
    assert coverage is not None
    assert (coverage.first, coverage.last, coverage.candles) == (int(link.open_time[0]), int(link.open_time[299]), 250)
    assert [(g.after, g.before, g.missing) for g in coverage.gaps] == [
        (int(link.open_time[99]), int(link.open_time[150]), 50)
    ]
    t = link.open_time
    spans = [(int(t[100]), int(t[150])), (int(t[300]), int(t[400]))]
    assert store.missing("LINKUSDT", M1, int(t[0]), int(t[400])) == spans
    assert store.missing("LINKUSDT", M1, int(t[0]), int(t[100])) == []
    assert store.newest("LINKUSDT", M1) == int(t[299])


def test_bad_candles_are_refused_and_the_stored_file_is_untouched(tmp_path: Path, link: CandleFrame) -> None:
    store = HistoryStore(tmp_path)
    store.write(link.slice(0, 100))
    path = store.month_path("LINKUSDT", M1, int(link.open_time[0]))
    before = path.read_bytes()
    bad = link.slice(50, 60)
    broken = CandleFrame(bad.open_time, bad.open, bad.low - 1, bad.low, bad.close, bad.volume, M1, "LINKUSDT")
    with pytest.raises(DataError, match="high"):
        store.write(broken)
    misaligned = CandleFrame(bad.open_time + 1, bad.open, bad.high, bad.low, bad.close, bad.volume, M1, "LINKUSDT")
    with pytest.raises(DataError, match="boundary"):
        store.write(misaligned)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left behind


def test_reading_what_was_never_downloaded_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ictbot download --symbol ETHUSDT --timeframe 5m"):
        HistoryStore(tmp_path).read("ETHUSDT", Timeframe.M5)
