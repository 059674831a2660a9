"""``download`` over REST against the local exchange, through the real ccxt client on loopback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ictbot.candles.aggregate import resample
from ictbot.data.download import download
from ictbot.data.frame import CandleFrame
from ictbot.data.store import HistoryStore
from ictbot.domain import Timeframe
from ictbot.errors import VenueError
from ictbot.exchange import LocalExchange

from .conftest import WARMUP, PassingTime, RecordingClient, assert_same

M1 = Timeframe.M1


async def fetch(store: HistoryStore, client: RecordingClient, start: int, clock: PassingTime, **options: object):
    return await download(store, "BTCUSDT", M1, start, source="rest", client=client, sleep=clock, **options)


async def test_pages_through_the_history_and_stores_exactly_the_closed_candles(
    tmp_path: Path, btc: CandleFrame, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    progress: list[tuple[int, int]] = []
    report = await fetch(
        store, client, int(btc.open_time[0]), passing_time, page_limit=1000, on_progress=lambda *p: progress.append(p)
    )
    assert len(client.pages) == 3 and report.kline_requests == 3
    assert [done for done, _ in progress] == sorted(done for done, _ in progress) and progress[-1][0] == progress[-1][1]
    assert [p["startTime"] for p in client.pages] == [int(btc.open_time[i]) for i in (0, 1000, 2000)]
    assert report.added == WARMUP
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, WARMUP))
    assert passing_time.waits == []


async def test_the_candle_in_progress_is_left_out_until_it_closes(
    tmp_path: Path, btc: CandleFrame, exchange: LocalExchange, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    await fetch(store, client, int(btc.open_time[0]), passing_time)
    assert store.newest("BTCUSDT", M1) == int(btc.open_time[WARMUP - 1])  # the exchange shows WARMUP + 1 rows
    await exchange.advance(5)
    report = await fetch(store, client, int(btc.open_time[0]), passing_time)
    assert report.added == 5
    assert client.pages[-1]["startTime"] == int(btc.open_time[WARMUP])  # resumes after the newest stored candle
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, WARMUP + 5))  # final values, not the in-progress ones


async def test_higher_timeframes_store_only_buckets_that_have_closed(
    tmp_path: Path, btc: CandleFrame, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    expected = resample(btc.slice(0, WARMUP), Timeframe.M15)  # whole buckets only
    start = int(expected.open_time[0])
    await download(store, "BTCUSDT", Timeframe.M15, start, source="rest", client=client, sleep=passing_time)
    stored = store.read("BTCUSDT", Timeframe.M15)
    for name in ("open_time", "open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(expected, name), err_msg=name)
    np.testing.assert_array_equal(stored.volume, np.round(expected.volume, 3))  # the venue rounds to its 0.001 step


async def test_an_interrupted_download_resumes_without_duplicates(
    tmp_path: Path, btc: CandleFrame, exchange: LocalExchange, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    client.before_page[3] = lambda: exchange.fail_requests(count=4, status=500)  # 1 try + 3 retries, all failing
    with pytest.raises(VenueError, match="resumes where it stopped"):
        await fetch(store, client, int(btc.open_time[0]), passing_time, page_limit=1000)
    assert passing_time.waits == [1, 2, 4]
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, 2000))  # the pages fetched before the failure are kept

    client.pages.clear()
    report = await fetch(store, client, int(btc.open_time[0]), passing_time, page_limit=1000)
    assert [p["startTime"] for p in client.pages] == [int(btc.open_time[2000])]
    assert report.added == 1000
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, WARMUP))


async def test_a_transient_failure_is_retried_after_a_pause(
    tmp_path: Path, btc: CandleFrame, exchange: LocalExchange, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    client.before_page[2] = lambda: exchange.fail_requests(count=1, status=503)
    await fetch(store, client, int(btc.open_time[0]), passing_time, page_limit=1000)
    assert passing_time.waits == [1]
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, WARMUP))


async def test_a_429_waits_for_the_next_weight_window_instead_of_hammering(
    tmp_path: Path, btc: CandleFrame, exchange: LocalExchange, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    client.before_page[2] = lambda: exchange.throttle(count=3)  # three more requests in this minute would get 418
    report = await fetch(store, client, int(btc.open_time[0]), passing_time, page_limit=1000)
    assert client.refusals == [429]  # one refusal, then it waited: no request ran into the ban
    assert len(passing_time.waits) == 1 and 1 <= passing_time.waits[0] <= 61
    assert report.waits == passing_time.waits
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, WARMUP))


async def test_a_418_ban_is_waited_out_with_no_request_until_it_ends(
    tmp_path: Path, btc: CandleFrame, exchange: LocalExchange, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    client.before_page[2] = lambda: exchange.ban(seconds=90)
    await fetch(store, client, int(btc.open_time[0]), passing_time, page_limit=1000)
    assert client.refusals == [418]
    assert len(passing_time.waits) == 1 and 85 <= passing_time.waits[0] <= 92
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, WARMUP))


async def test_a_long_ban_stops_at_once_with_what_to_do_and_keeps_the_pages(
    tmp_path: Path, btc: CandleFrame, exchange: LocalExchange, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    client.before_page[2] = lambda: exchange.ban(seconds=3600)
    with pytest.raises(VenueError, match=r"banned this IP \(418\) for another 3\d{3} s; run the same command again"):
        await fetch(store, client, int(btc.open_time[0]), passing_time, page_limit=1000)
    assert passing_time.waits == [] and client.refusals == [418]
    assert_same(store.read("BTCUSDT", M1), btc.slice(0, 1000))


async def test_an_unknown_symbol_is_refused_before_anything_is_stored(
    tmp_path: Path, btc: CandleFrame, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    with pytest.raises(VenueError, match="no symbol DOGEUSDC"):
        await download(store, "dogeusdc", M1, int(btc.open_time[0]), source="rest", client=client, sleep=passing_time)
    assert client.pages == [] and not any(tmp_path.iterdir())


async def test_a_range_in_the_past_fetches_only_that_range(
    tmp_path: Path, btc: CandleFrame, client: RecordingClient, passing_time: PassingTime
) -> None:
    store = HistoryStore(tmp_path)
    start, end = int(btc.open_time[100]), int(btc.open_time[700])
    await download(store, "BTCUSDT", M1, start, end, source="rest", client=client, sleep=passing_time)
    assert_same(store.read("BTCUSDT", M1), btc.slice(100, 700))
    assert np.all(np.diff(store.read("BTCUSDT", M1).open_time) == M1.ms)
