"""Download Binance USDT-M candles into the history store: bulk dumps for whole past days and months, REST for the rest.

Only what the store lacks is fetched, so an interrupted download resumes where it stopped and a repeated one costs a
request or two. REST pages go through ccxt (its own rate limiter on), stop at the exchange's market clock so a candle
still in progress is never stored, and wait out 429/418 answers instead of retrying into a longer ban. Dumps come from
``data.binance.vision`` (base URL configurable), are checked against their published SHA-256 and parsed by the same
loader as any Binance dump file.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async
import numpy as np

from ictbot.data.frame import COLUMNS, CandleFrame, iso, validate_arrays
from ictbot.data.loaders import load_candles
from ictbot.data.store import HistoryStore
from ictbot.domain import Timeframe
from ictbot.errors import DataError, VenueError

BULK_URL = "https://data.binance.vision"
MAX_PAGE = 1500  # Binance's most candles per klines request
DAY_MS = 86_400_000
NETWORK_RETRIES = 3
RATE_LIMIT_RETRIES = 5
DEFAULT_BAN_S = 120.0

Source = Literal["auto", "rest", "bulk"]
Sleep = Callable[[float], Awaitable[None]]
ProgressHook = Callable[[int, int], None]


@dataclass
class DownloadReport:
    """What a download did: candles added, requests sent, dumps merged or missing, and every wait it made."""

    symbol: str
    timeframe: Timeframe
    added: int = 0
    kline_requests: int = 0
    dumps: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Piece:
    """Open times ``[start, end)`` to fetch, from a ``monthly``/``daily`` dump or (``dump is None``) by REST."""

    start: int
    end: int
    dump: Literal["monthly", "daily"] | None = None


def binance_client(rest_url: str | None = None, testnet: bool = False) -> ccxt_async.binanceusdm:
    """A ccxt USDT-M client with its rate limiter on; ``rest_url`` (``http://host:port``) replaces Binance's host."""
    client = ccxt_async.binanceusdm({"enableRateLimit": True, "options": {"fetchCurrencies": False}})
    if testnet:
        client.set_sandbox_mode(True)
    if rest_url:
        base = rest_url.rstrip("/")
        api = client.urls["api"]
        for name, url in list(api.items()):
            if name.startswith("fapi") and isinstance(url, str):
                api[name] = base + "/" + url.split("://", 1)[1].split("/", 1)[1]
    return client


async def download(
    store: HistoryStore,
    symbol: str,
    timeframe: Timeframe,
    start_ms: int,
    end_ms: int | None = None,
    *,
    source: Source = "auto",
    client: Any = None,
    bulk_url: str = BULK_URL,
    page_limit: int = MAX_PAGE,
    max_wait_s: float = 600.0,
    sleep: Sleep = asyncio.sleep,
    on_progress: ProgressHook | None = None,
) -> DownloadReport:
    """Fill ``store`` with ``symbol``'s closed ``timeframe`` candles opening in ``[start_ms, end_ms)`` (default: now).

    ``client`` is a ccxt ``binanceusdm`` (needed unless ``source="bulk"``); ``sleep`` is how waits happen (tests pass
    one that moves the exchange's clock instead). Raises ``VenueError`` when the exchange refuses or cannot be
    reached, ``DataError`` when downloaded data is bad; everything stored before that stays stored.
    """
    symbol = symbol.upper()
    now = int(time.time() * 1000)
    end_ms = now if end_ms is None else end_ms
    if start_ms >= end_ms:
        raise DataError(f"the range is empty: --from {iso(start_ms)} is not before --to {iso(end_ms)}")
    if source != "bulk" and client is None:
        raise ValueError("REST downloads need a ccxt client")
    page_limit = max(1, min(page_limit, MAX_PAGE))
    report = DownloadReport(symbol, timeframe)
    pieces = deque(plan(store.missing(symbol, timeframe, start_ms, end_ms), source, now))
    total = sum((p.end - p.start) // timeframe.ms for p in pieces)
    done = 0

    def advance(candles: int) -> None:
        nonlocal done
        done += candles
        if on_progress is not None:
            on_progress(min(done, total), total)

    advance(0)
    klines = None if client is None else KlineFetcher(client, report, sleep, max_wait_s)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        dumps = DumpFetcher(session, bulk_url, report, sleep)
        cutoff = None if klines is None or source == "bulk" else await klines.market_time(symbol)
        while pieces:
            piece = pieces.popleft()
            if piece.dump is not None:
                frame = await dumps.fetch(symbol, timeframe, piece)
                if frame is not None:
                    report.added += store.write(frame.between(piece.start, piece.end))
                    advance((piece.end - piece.start) // timeframe.ms)
                elif piece.dump == "monthly":
                    pieces.extendleft(reversed(_days(piece)))
                elif source == "auto":
                    pieces.appendleft(Piece(piece.start, piece.end))
                else:
                    advance((piece.end - piece.start) // timeframe.ms)
                continue
            assert klines is not None and cutoff is not None
            await klines.fill(store, symbol, timeframe, piece, cutoff, page_limit, advance)
    if source == "bulk" and not report.dumps and report.unavailable:
        raise DataError(
            f"Binance publishes no {symbol} {timeframe} dump for {iso(start_ms)} → {iso(end_ms)} "
            f"({len(report.unavailable)} files missing); check the symbol, or use --source auto for recent days"
        )
    return report


def plan(spans: list[tuple[int, int]], source: Source, now_ms: int) -> list[Piece]:
    """Split missing spans into pieces: whole published months and days as dumps (unless ``rest``), else REST.

    Binance publishes a day's dump once the day is over, so with ``auto`` only whole days before today (UTC) are dumps.
    With ``bulk`` every day is asked of its dump (a partly wanted day is trimmed; today's is not published yet).
    """
    today = now_ms // DAY_MS * DAY_MS
    pieces: list[Piece] = []
    for start, end in spans:
        if source == "rest":
            pieces.append(Piece(start, end))
            continue
        cursor = start
        while cursor < end:
            month_start, month_end = _month_bounds(cursor)
            if cursor == month_start and month_end <= min(end, today):
                pieces.append(Piece(cursor, month_end, "monthly"))
                cursor = month_end
                continue
            day_end = cursor // DAY_MS * DAY_MS + DAY_MS
            stop = min(end, day_end)
            whole_past_day = cursor % DAY_MS == 0 and stop == day_end <= today
            pieces.append(Piece(cursor, stop, "daily" if whole_past_day or source == "bulk" else None))
            cursor = stop
    return _join_rest(pieces)


class KlineFetcher:
    """Paged ``GET /fapi/v1/klines`` through ccxt, waiting out rate limits and retrying transient failures."""

    def __init__(self, client: Any, report: DownloadReport, sleep: Sleep, max_wait_s: float) -> None:
        self.client, self.report, self.sleep, self.max_wait_s = client, report, sleep, max_wait_s

    async def market_time(self, symbol: str) -> int:
        """The exchange's market clock (mark-price time): candles closing after it are still in progress.

        Also the first request, so an unknown symbol fails before anything else happens.
        """
        answer = await self.call(self.client.fapiPublicGetPremiumIndex, {"symbol": symbol}, symbol)
        return int(answer["time"])

    async def fill(
        self,
        store: HistoryStore,
        symbol: str,
        timeframe: Timeframe,
        piece: Piece,
        cutoff: int,
        page_limit: int,
        advance: Callable[[int], None],
    ) -> None:
        """Fetch ``piece`` page by page, storing each page at once so an interruption loses nothing fetched."""
        step = timeframe.ms
        stop = min(piece.end, cutoff - step + 1)  # last open time whose candle has closed, plus one
        cursor = piece.start
        while cursor < stop:
            params = {
                "symbol": symbol,
                "interval": timeframe.binance,
                "startTime": cursor,
                "endTime": stop - 1,
                "limit": page_limit,
            }
            self.report.kline_requests += 1
            rows = await self.call(self.client.fapiPublicGetKlines, params, symbol)
            wanted = [r for r in rows if cursor <= int(r[0]) < stop]
            if not wanted:
                break
            self.report.added += store.write(_frame(wanted, symbol, timeframe, f"{symbol} {timeframe} klines"))
            following = int(wanted[-1][0]) + step
            advance((following - cursor) // step)
            cursor = following
            if len(rows) < page_limit:
                break
        advance((piece.end - cursor) // step)

    async def call(self, method: Callable[[dict], Awaitable[Any]], params: dict, symbol: str) -> Any:
        """One REST request of ``symbol``, retried through rate limits and transient failures."""
        failures = limited = 0
        while True:
            try:
                return await method(params)
            except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
                limited += 1
                delay = self._rate_limit_delay(exc, limited)
            except ccxt.BadSymbol:
                raise VenueError(
                    f"Binance USDT-M has no symbol {symbol} (-1121); check the spelling, e.g. BTCUSDT"
                ) from None
            except ccxt.OperationFailed as exc:
                failures += 1
                if failures > NETWORK_RETRIES:
                    raise VenueError(
                        f"the exchange did not answer after {NETWORK_RETRIES} retries ({exc}); check the network "
                        "and run the same command again: the download resumes where it stopped"
                    ) from None
                delay = float(2 ** (failures - 1))
            except ccxt.BaseError as exc:
                raise VenueError(f"the exchange refused the request: {exc}") from None
            self.report.waits.append(delay)
            await self.sleep(delay)

    def _rate_limit_delay(self, exc: Exception, attempt: int) -> float:
        """Seconds until Binance accepts requests again: ``Retry-After``, the ban's end, or the next weight window."""
        text = str(exc)
        banned = " 418 " in text or "banned" in text
        headers = {k.lower(): v for k, v in (self.client.last_response_headers or {}).items()}
        until = re.search(r"banned until (\d+)", text)
        if headers.get("retry-after"):
            delay = float(headers["retry-after"])
        elif until:
            delay = (int(until.group(1)) - time.time() * 1000) / 1000 + 1
        elif banned:
            delay = DEFAULT_BAN_S
        else:
            delay = 60 - time.time() % 60 + 1  # IP weight is counted per clock minute
        delay = max(delay, 1.0)
        what = "banned this IP (418)" if banned else "rate-limited this IP (429)"
        if delay > self.max_wait_s or attempt > RATE_LIMIT_RETRIES:
            raise VenueError(
                f"Binance {what} for another {delay:.0f} s; run the same command again after that: "
                "the download resumes where it stopped"
            )
        return delay


class DumpFetcher:
    """Binance's public monthly/daily kline dumps: download, verify the published SHA-256, parse."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, report: DownloadReport, sleep: Sleep) -> None:
        self.session, self.base_url, self.report, self.sleep = session, base_url.rstrip("/"), report, sleep

    def url(self, symbol: str, timeframe: Timeframe, piece: Piece) -> str:
        day = datetime.fromtimestamp(piece.start / 1000, tz=UTC)
        key = day.strftime("%Y-%m") if piece.dump == "monthly" else day.strftime("%Y-%m-%d")
        name = f"{symbol}-{timeframe.binance}-{key}.zip"
        return f"{self.base_url}/data/futures/um/{piece.dump}/klines/{symbol}/{timeframe.binance}/{name}"

    async def fetch(self, symbol: str, timeframe: Timeframe, piece: Piece) -> CandleFrame | None:
        """The dump's candles, or ``None`` when Binance has not published it (404)."""
        url = self.url(symbol, timeframe, piece)
        body = await self._get(url)
        if body is None:
            self.report.unavailable.append(url)
            return None
        checksum = await self._get(url + ".CHECKSUM")
        if checksum is not None:
            expected = checksum.decode(errors="replace").split()[0].lower() if checksum.strip() else ""
            actual = hashlib.sha256(body).hexdigest()
            if expected != actual:
                raise DataError(
                    f"{url}: SHA-256 {actual} does not match the published checksum {expected or '(empty)'}; "
                    "the file was refused and nothing was stored. Run again to re-download it"
                )
        with tempfile.TemporaryDirectory(prefix="ictbot-dump-") as tmp:
            path = Path(tmp) / url.rsplit("/", 1)[1]
            path.write_bytes(body)
            frame = load_candles(path, symbol=symbol, timeframe=timeframe)
        self.report.dumps.append(url)
        return CandleFrame(
            frame.open_time, *(getattr(frame, c) for c in COLUMNS), timeframe=timeframe, symbol=symbol, source=url
        )

    async def _get(self, url: str) -> bytes | None:
        failures = 0
        while True:
            try:
                async with self.session.get(url) as response:
                    if response.status == 404:
                        return None
                    if response.status == 200:
                        return await response.read()
                    if response.status < 500:
                        raise VenueError(f"{url}: HTTP {response.status}; check --bulk-url")
                    problem = f"HTTP {response.status}"
            except (TimeoutError, aiohttp.ClientError) as exc:
                problem = str(exc) or type(exc).__name__
            failures += 1
            if failures > NETWORK_RETRIES:
                raise VenueError(
                    f"{url}: {problem} after {NETWORK_RETRIES} retries; check the network and run the same command "
                    "again: the download resumes where it stopped"
                )
            delay = float(2 ** (failures - 1))
            self.report.waits.append(delay)
            await self.sleep(delay)


def _frame(rows: list[list[Any]], symbol: str, timeframe: Timeframe, source: str) -> CandleFrame:
    """Kline rows (``[open_time, "open", "high", "low", "close", "volume", …]``) as a validated frame."""
    try:
        open_time = np.array([int(r[0]) for r in rows], dtype=np.int64)
        values = np.array([[float(x) for x in r[1:6]] for r in rows], dtype=np.float64).reshape(-1, 5)
    except (TypeError, ValueError, IndexError) as exc:
        raise DataError(f"{source}: the exchange sent a malformed kline row ({exc})") from None
    columns = {name: np.ascontiguousarray(values[:, k]) for k, name in enumerate(COLUMNS)}
    validate_arrays(source, open_time, columns)
    return CandleFrame(open_time, *(columns[c] for c in COLUMNS), timeframe=timeframe, symbol=symbol, source=source)


def _month_bounds(ms: int) -> tuple[int, int]:
    day = datetime.fromtimestamp(ms / 1000, tz=UTC)
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    end = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _days(month: Piece) -> list[Piece]:
    """A monthly piece as its daily dumps, asked for when the monthly file is not published yet."""
    return [Piece(start, start + DAY_MS, "daily") for start in range(month.start, month.end, DAY_MS)]


def _join_rest(pieces: list[Piece]) -> list[Piece]:
    """Merge touching REST pieces so pagination runs across day boundaries."""
    joined: list[Piece] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if last is not None and last.dump is None and piece.dump is None and last.end == piece.start:
            joined[-1] = Piece(last.start, piece.end)
        else:
            joined.append(piece)
    return joined
