"""Research inputs from the history store: month files merged over --from/--to, funding stored beside them."""

from __future__ import annotations

import numpy as np
import pytest

from ictbot.data.funding import sibling_schedule
from ictbot.data.funding_store import write_funding
from ictbot.data.loaders import load_candles
from ictbot.data.store import HistoryStore
from ictbot.domain import Timeframe
from ictbot.research.inputs import load_inputs

MAY_20 = 1747699200000  # 2025-05-20T00:00Z


def test_symbol_reads_the_stores_months_and_its_funding(data_dir, tmp_path):
    path = data_dir / "BTC_USDT_USDT-1m-futures.feather"
    frame = load_candles(path)
    store = HistoryStore(tmp_path)
    store.write(frame)  # May and June month files
    real = sibling_schedule(path)
    marks = np.array([float(m) for m in real.marks])
    marks[::2] = np.nan  # the venue did not report every mark: the candle at that minute stands in
    rates = np.array([float(r) for r in real.rates])
    assert write_funding(store, "BTCUSDT", real.times + 7, rates, marks) == len(real.times)
    assert write_funding(store, "BTCUSDT", real.times, rates, marks) == 0  # same minutes: replaced, not added
    frames, funding = load_inputs(None, ["btcusdt"], MAY_20, None, tmp_path)
    assert len(frames[0]) == int(np.sum(frame.open_time >= MAY_20))
    assert frames[0].open_time[-1] == frame.open_time[-1]
    schedule = funding["BTCUSDT"]
    np.testing.assert_array_equal(schedule.times, real.times)
    assert [float(m) for m in schedule.marks[1::2]] == list(marks[1::2])  # reported marks kept
    stood_in = np.clip(np.searchsorted(frames[0].open_time, real.times[::2]), 0, len(frames[0]) - 1)
    assert [float(m) for m in schedule.marks[::2]] == list(frames[0].open[stood_in])


def test_no_stored_history_says_how_to_download(tmp_path):
    with pytest.raises(Exception, match="ictbot download --symbol ETHUSDT"):
        load_inputs(None, ["ETHUSDT"], None, None, tmp_path, Timeframe.M1)
