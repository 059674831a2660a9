"""A minimal raw Binance client for tests that must see exact status codes, bodies and headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from ictbot.exchange import LocalExchange, signature


@dataclass
class Answer:
    status: int
    body: object
    headers: dict[str, str]

    @property
    def code(self) -> object:
        return self.body.get("code") if isinstance(self.body, dict) else None


async def call(
    ex: LocalExchange,
    method: str,
    path: str,
    *,
    signed: bool = False,
    api_key: str | None = "default",
    secret: str | None = None,
    timestamp: int | None = None,
    **params: object,
) -> Answer:
    """Send one request as a Binance client would (all parameters in the query string)."""
    if signed:
        params.setdefault("timestamp", timestamp if timestamp is not None else int(time.time() * 1000))
        query = urlencode(params)
        query += "&signature=" + signature(secret or ex.credentials.api_secret, query)
    else:
        query = urlencode(params)
    headers = {}
    if api_key is not None:
        headers["X-MBX-APIKEY"] = ex.credentials.api_key if api_key == "default" else api_key
    async with aiohttp.ClientSession() as session:
        url = f"{ex.rest_url}{path}" + (f"?{query}" if query else "")
        async with session.request(method, url, headers=headers) as response:
            text = await response.text()
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = text
            return Answer(response.status, body, dict(response.headers))


async def until(condition: Callable[[], bool], attempts: int = 500) -> None:
    """Yield to the event loop until ``condition()`` holds (a bounded wait, not a timing assertion)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")
