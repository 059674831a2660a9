"""``download`` from Binance's bulk dumps, served by a static server on loopback in their real layout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import ccxt.async_support as ccxt_async
import pytest

from ictbot.data.download import DownloadReport, download, plan
from ictbot.data.frame import CandleFrame
from ictbot.data.store import HistoryStore
from ictbot.domain import Timeframe
from ictbot.errors import DataError
from ictbot.exchange import LocalExchange

from .conftest import LINK_ZIP, DumpServer, PassingTime, RecordingClient, assert_same, day_dump

M1 = Timeframe.M1
PREFIX = "/data/futures/um"
MONTH = f"{PREFIX}/monthly/klines/LINKUSDT/1m/LINKUSDT-1m-2023-02.zip"


def daily(day: str) -> str:
    return f"{PREFIX}/daily/klines/LINKUSDT/1m/LINKUSDT-1m-{day}.zip"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


async def bulk(store: HistoryStore, dumps: DumpServer, start: str, end: str) -> DownloadReport:
    return await download(store, "LINKUSDT", M1, ms(start), ms(end), source="bulk", bulk_url=dumps.url)


@pytest.fixture
async def link_exchange(link: CandleFrame) -> AsyncIterator[LocalExchange]:
    """The local exchange replaying the same February, every minute but the last closed."""
    async with LocalExchange([link], warmup=len(link)) as ex:
        yield ex


@pytest.fixture
async def link_client(link_exchange: LocalExchange) -> AsyncIterator[RecordingClient]:
    c = ccxt_async.binanceusdm(link_exchange.ccxt_config())
    try:
        yield RecordingClient(c)
    finally:
        await c.close()


async def test_a_published_month_is_verified_and_stored(tmp_path: Path, link: CandleFrame, dumps: DumpServer) -> None:
    dumps.publish(MONTH, LINK_ZIP.read_bytes())
    store = HistoryStore(tmp_path)
    report = await bulk(store, dumps, "2023-02-01", "2023-03-01")
    assert dumps.requested == [MONTH, MONTH + ".CHECKSUM"]
    assert report.dumps == [dumps.url + MONTH] and report.added == len(link) == 40_320
    assert_same(store.read("LINKUSDT", M1), link)

    again = await bulk(store, dumps, "2023-02-01", "2023-03-01")
    assert again.added == 0 and len(dumps.requested) == 2  # nothing missing, nothing fetched


async def test_a_bad_checksum_is_refused_and_nothing_is_stored(tmp_path: Path, dumps: DumpServer) -> None:
    dumps.publish(MONTH, LINK_ZIP.read_bytes(), checksum=b"0" * 64 + b"  LINKUSDT-1m-2023-02.zip\n")
    store = HistoryStore(tmp_path)
    with pytest.raises(DataError, match="does not match the published checksum"):
        await bulk(store, dumps, "2023-02-01", "2023-03-01")
    assert list(tmp_path.rglob("*")) == []


async def test_an_unpublished_month_is_taken_from_its_daily_dumps(
    tmp_path: Path, link: CandleFrame, dumps: DumpServer
) -> None:
    dumps.publish(daily("2023-02-27"), day_dump(LINK_ZIP.read_bytes(), "2023-02-27"))
    store = HistoryStore(tmp_path)
    report = await bulk(store, dumps, "2023-02-01", "2023-03-01")
    assert report.dumps == [dumps.url + daily("2023-02-27")]
    assert len(report.unavailable) == 1 + 27  # the month, then every other day: each reported
    assert_same(store.read("LINKUSDT", M1), link.between(ms("2023-02-27"), ms("2023-02-28")))


async def test_nothing_published_at_all_is_an_error_naming_the_symbol(tmp_path: Path, dumps: DumpServer) -> None:
    store = HistoryStore(tmp_path)
    with pytest.raises(DataError, match="no LINKUSDT 1m dump"):
        await bulk(store, dumps, "2023-02-27", "2023-03-01")


async def test_auto_takes_whole_past_days_from_dumps_and_the_rest_by_rest(
    tmp_path: Path,
    link: CandleFrame,
    dumps: DumpServer,
    link_exchange: LocalExchange,
    link_client: RecordingClient,
) -> None:
    dumps.publish(daily("2023-02-27"), day_dump(LINK_ZIP.read_bytes(), "2023-02-27"))
    store = HistoryStore(tmp_path)
    start, end = ms("2023-02-25T12:00"), ms("2023-02-28T06:00")
    report = await download(
        store,
        "LINKUSDT",
        M1,
        start,
        end,
        client=link_client,
        bulk_url=dumps.url,
        sleep=PassingTime(link_exchange),
    )
    assert report.dumps == [dumps.url + daily("2023-02-27")]
    assert report.unavailable == [dumps.url + daily("2023-02-26")]  # not published: fetched by REST instead
    assert [(p["startTime"], p["endTime"]) for p in link_client.pages] == [
        (ms("2023-02-25T12:00"), ms("2023-02-26") - 1),
        (ms("2023-02-26"), ms("2023-02-27") - 1),
        (ms("2023-02-28"), ms("2023-02-28T06:00") - 1),
    ]
    assert_same(store.read("LINKUSDT", M1), link.between(start, end))


def test_the_plan_uses_dumps_only_for_periods_binance_has_published() -> None:
    now = ms("2023-03-02T10:00")
    pieces = plan([(ms("2023-01-31T12:00"), now)], "auto", now)
    assert [(p.start, p.end, p.dump) for p in pieces] == [
        (ms("2023-01-31T12:00"), ms("2023-02-01"), None),
        (ms("2023-02-01"), ms("2023-03-01"), "monthly"),
        (ms("2023-03-01"), ms("2023-03-02"), "daily"),
        (ms("2023-03-02"), now, None),  # today: no dump yet
    ]
    assert [p.dump for p in plan([(ms("2023-01-31T12:00"), now)], "rest", now)] == [None]
    bulk_only = plan([(ms("2023-01-31T12:00"), now)], "bulk", now)
    assert [p.dump for p in bulk_only] == ["daily", "monthly", "daily", "daily"]
