"""Read methods page through long histories newest first, without gaps or repeats."""

from __future__ import annotations

from decimal import Decimal

from ictbot.domain import Fill, Side
from ictbot.storage import MAX_PAGE, EventKind

from .records import T0


def test_pages_of_fills_cover_everything_once_newest_first(recorder):
    for i in range(250):
        fill = Fill(f"cid-{i}", "BTCUSDT", Side.BUY, Decimal("0.001"), Decimal("42000"), Decimal(0), T0 + i, True, "x")
        recorder.record_fill(fill, trade_id=str(i))

    pages = [recorder.fills(limit=100, offset=offset) for offset in (0, 100, 200, 300)]
    assert [len(p) for p in pages] == [100, 100, 50, 0]
    ids = [f.trade_id for page in pages for f in page]
    assert ids == [str(i) for i in reversed(range(250))]


def test_a_page_is_never_larger_than_the_cap(recorder):
    for i in range(MAX_PAGE + 5):
        recorder.record_event(EventKind.READINESS, f"tick {i}", at=T0 + i)
    assert len(recorder.events(limit=10 * MAX_PAGE)) == MAX_PAGE
    assert len(recorder.events(limit=0)) == 1


def test_filters_combine_with_paging(recorder):
    for i in range(30):
        symbol = "BTCUSDT" if i % 3 else "ETHUSDT"
        fill = Fill(f"cid-{i}", symbol, Side.SELL, Decimal("0.01"), Decimal("2300"), Decimal(0), T0 + i, False, "x")
        recorder.record_fill(fill, trade_id=str(i))
    eth = recorder.fills(symbol="ETHUSDT", limit=4, offset=4)
    assert [f.trade_id for f in eth] == ["15", "12", "9", "6"]


def test_equity_curve_pages_forward_from_a_time(recorder):
    for i in range(25):
        recorder.record_equity(T0 + i * 60_000, Decimal(1000 + i))
    first = recorder.equity_curve(limit=10)
    second = recorder.equity_curve(start=first[-1].time + 1, limit=10)
    assert [e.equity for e in first + second] == [Decimal(1000 + i) for i in range(20)]
