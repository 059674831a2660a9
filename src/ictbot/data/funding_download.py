"""Download a symbol's funding history into the history store, so that long backtests charge the funding it paid.

``GET /fapi/v1/fundingRate`` pages (1,000 settlements each) give the rate and, for recent settlements, the mark price
it settled at; a settlement reported without a mark gets the open of the 1m ``markPriceKlines`` candle at that minute.
Only settlements after the newest one stored are fetched, so a repeated download costs a request.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ictbot.data.download import KlineFetcher, Sleep
from ictbot.data.funding_store import MINUTE_MS, funding_path, read_funding, write_funding
from ictbot.data.store import HistoryStore

FUNDING_PAGE = 1000  # Binance's most settlements per fundingRate request


@dataclass
class FundingReport:
    """What a funding download did: settlements added, requests of each kind, and every wait it made."""

    symbol: str
    added: int = 0
    funding_requests: int = 0
    mark_requests: int = 0
    waits: list[float] = field(default_factory=list)


async def download_funding(
    store: HistoryStore,
    symbol: str,
    start_ms: int,
    end_ms: int,
    client: Any,
    *,
    sleep: Sleep = asyncio.sleep,
    max_wait_s: float = 600.0,
) -> FundingReport:
    """Store ``symbol``'s funding settlements in ``[start_ms, end_ms)`` with their mark prices; returns the report.

    Waits out rate limits and retries transient failures as the candle download does (``VenueError`` otherwise).
    """
    symbol = symbol.upper()
    report = FundingReport(symbol)
    calls = KlineFetcher(client, report, sleep, max_wait_s)  # its request loop; the report collects the waits
    stored, _, _ = read_funding(funding_path(store, symbol))
    cursor = start_ms
    if stored.size and stored[0] <= start_ms <= stored[-1]:
        cursor = int(stored[-1]) + 1
    rows: list[dict[str, Any]] = []
    while cursor < end_ms:
        params = {"symbol": symbol, "startTime": cursor, "endTime": end_ms - 1, "limit": FUNDING_PAGE}
        report.funding_requests += 1
        page = await calls.call(client.fapiPublicGetFundingRate, params, symbol)
        page = [r for r in page if cursor <= int(r["fundingTime"]) < end_ms]
        if not page:
            break
        rows.extend(page)
        cursor = int(page[-1]["fundingTime"]) + 1
        if len(page) < FUNDING_PAGE:
            break
    if not rows:
        return report
    times = np.array([int(r["fundingTime"]) for r in rows], dtype=np.int64)
    rates = np.array([float(r["fundingRate"]) for r in rows])
    marks = np.array([float(r["markPrice"]) if r.get("markPrice") else math.nan for r in rows])
    for k in np.flatnonzero(np.isnan(marks)):
        minute = int((times[k] + MINUTE_MS // 2) // MINUTE_MS * MINUTE_MS)
        params = {"symbol": symbol, "interval": "1m", "startTime": minute, "limit": 1}
        report.mark_requests += 1
        candles = await calls.call(client.fapiPublicGetMarkPriceKlines, params, symbol)
        if candles and int(candles[0][0]) == minute:
            marks[k] = float(candles[0][1])
    report.added = write_funding(store, symbol, times, rates, marks)
    return report
