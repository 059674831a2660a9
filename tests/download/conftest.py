"""Fixtures: the local exchange replaying real candles, a ccxt client that records its kline requests, a clock stub
for waits, and a static server standing in for data.binance.vision — all on loopback."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import numpy as np
import pytest
from aiohttp import web

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles
from ictbot.exchange import LocalExchange

DATA = Path(__file__).parent.parent / "data"
LINK_ZIP = DATA / "LINKUSDT-1m-2023-02.zip"
WARMUP = 3000


def assert_same(a: CandleFrame, b: CandleFrame) -> None:
    """Same open times and exactly the same OHLCV values."""
    for name in ("open_time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.fixture(scope="session")
def btc() -> CandleFrame:
    """3,200 real BTCUSDT minutes from 2025-05-04 15:33 UTC; the exchange starts with the first 3,000 closed."""
    return load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, WARMUP + 200)


@pytest.fixture(scope="session")
def link() -> CandleFrame:
    """February 2023 of LINKUSDT 1m, from Binance's own monthly dump."""
    return load_candles(LINK_ZIP)


@pytest.fixture
async def exchange(btc: CandleFrame) -> AsyncIterator[LocalExchange]:
    async with LocalExchange([btc], warmup=WARMUP) as ex:
        yield ex


class RecordingClient:
    """A real ccxt client that also records each kline request, the rate-limit answers it met, and can turn a fault
    knob just before a given kline request (``before_page[n]`` runs before the n-th, 1-based)."""

    def __init__(self, client: ccxt_async.binanceusdm) -> None:
        self.client = client
        self.pages: list[dict[str, Any]] = []
        self.refusals: list[int] = []
        self.before_page: dict[int, Callable[[], None]] = {}

    @property
    def last_response_headers(self) -> dict[str, str] | None:
        return self.client.last_response_headers

    async def fapiPublicGetPremiumIndex(self, params: dict[str, Any]) -> Any:
        return await self.client.fapiPublicGetPremiumIndex(params)

    async def fapiPublicGetKlines(self, params: dict[str, Any]) -> Any:
        self.pages.append(dict(params))
        action = self.before_page.pop(len(self.pages), None)
        if action is not None:
            action()
        try:
            return await self.client.fapiPublicGetKlines(params)
        except ccxt.DDoSProtection as exc:
            self.refusals.append(418 if " 418 " in str(exc) else 429)
            raise


@pytest.fixture
async def client(exchange: LocalExchange) -> AsyncIterator[RecordingClient]:
    c = ccxt_async.binanceusdm(exchange.ccxt_config())
    try:
        yield RecordingClient(c)
    finally:
        await c.close()


class PassingTime:
    """Stands in for ``asyncio.sleep``: records each wait and moves the exchange's wall clock by it instead.

    The exchange's clock is frozen otherwise, so its per-minute weight window cannot roll over by chance during a
    test: a rate limit lapses only because the downloader waited long enough.
    """

    def __init__(self, exchange: LocalExchange) -> None:
        self.waits: list[float] = []
        frozen = exchange.wall_time()
        exchange.wall_time = lambda: frozen + int(sum(self.waits) * 1000)  # type: ignore[method-assign]

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def passing_time(exchange: LocalExchange) -> PassingTime:
    return PassingTime(exchange)


def day_dump(monthly_zip: bytes, day: str) -> bytes:
    """Binance's daily dump for ``day`` (``2023-02-27``), cut from the monthly dump: same header, that day's rows."""
    with zipfile.ZipFile(io.BytesIO(monthly_zip)) as archive:
        lines = archive.read(archive.namelist()[0]).decode().splitlines(keepends=True)
    symbol_tf = archive.namelist()[0].rsplit("-", 2)[0]
    start = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)
    rows = [line for line in lines[1:] if start <= int(line.split(",")[0]) < start + 86_400_000]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{symbol_tf}-{day}.csv", lines[0] + "".join(rows))
    return out.getvalue()


def checksum_file(body: bytes, name: str) -> bytes:
    """A ``.CHECKSUM`` file as Binance publishes it: ``<sha256>  <file name>``."""
    return f"{hashlib.sha256(body).hexdigest()}  {name}\n".encode()


class DumpServer:
    """Serves ``files`` (URL path → bytes) like data.binance.vision; anything else is 404. Records requested paths."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requested: list[str] = []
        self.url = ""

    def publish(self, path: str, body: bytes, checksum: bytes | None = None) -> None:
        self.files[path] = body
        name = path.rsplit("/", 1)[1]
        self.files[path + ".CHECKSUM"] = checksum_file(body, name) if checksum is None else checksum

    async def handle(self, request: web.Request) -> web.Response:
        self.requested.append(request.path)
        body = self.files.get(request.path)
        return web.Response(status=404) if body is None else web.Response(body=body)


@pytest.fixture
async def dumps() -> AsyncIterator[DumpServer]:
    server = DumpServer()
    app = web.Application()
    app.add_routes([web.get("/{tail:.*}", server.handle)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
