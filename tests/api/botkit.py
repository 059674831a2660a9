"""Helpers for the API tests: a running bot, waiting for a condition, a client of its API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import httpx
from aiohttp import web

from helpers import until
from helpers.http import serve_on_loopback
from ictbot.compose import build_engine
from ictbot.config import Settings
from ictbot.runtime.engine import Engine
from ictbot.storage import open_recorder

TOKEN = "test-control-token-5f1c9a"


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Engine]:
    """A started bot whose API answers; stopped cleanly on exit."""
    engine = build_engine(settings, open_recorder(settings.database_url))
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        await asyncio.wait_for(engine.ready.wait(), 30)
        await until(lambda: engine.api_url is not None)
        yield engine
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def freeze(engine: Engine, predicate: Callable[[], bool]) -> None:
    """Let the replay run until ``predicate`` holds, then stop the market clock (the exchange's replay knob) and wait
    for the pipeline and the recorder, so the API, the engine and the database describe one settled state."""
    exchange = engine.exchange
    speed = exchange.speed
    while True:
        await until(predicate)
        exchange.stop_clock()
        feed = exchange.replay.feeds["BTCUSDT"]
        last_closed = int(feed.frame.open_time[feed.closed - 1])
        await until(lambda t=last_closed: engine.pipeline.book.last_open_time("BTCUSDT") == t)
        if predicate():  # still true once the candles already sent were processed
            break
        exchange.start_clock(speed)
    await engine.records_written()


async def frozen_after_trades(engine: Engine, trades: int = 2) -> None:
    await freeze(engine, lambda: len(engine.recorder.trades(limit=trades)) >= trades)


def client(engine: Engine, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=engine.api_url, headers=headers, timeout=10)


class Receiver:
    """A local HTTP receiver standing in for a webhook endpoint or Telegram's Bot API; ``mode`` is ``ok``, ``fail``
    (HTTP 500) or ``hang`` (never answers). No access log: it stands for someone else's server."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.requests: list[tuple[str, dict]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.path_qs, await request.json()))
        if self.mode == "hang":
            await asyncio.Event().wait()
        return web.json_response({"ok": True}, status=500 if self.mode == "fail" else 200)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        self._runner, self.url = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
