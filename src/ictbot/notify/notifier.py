"""The notifier: picks the events worth a message, queues them without blocking, and delivers them from a
supervised task. Delivery failures are logged (never with the URL or token) and dropped."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from ictbot.config import NotifySettings
from ictbot.runtime.supervisor import StageContext

log = logging.getLogger("ictbot.notify")
Event = dict[str, Any]


def category(event: Event) -> str | None:
    """The ``notify.events`` name an event belongs to, or ``None`` when it is never notified."""
    kind, data = event["type"], event["data"]
    if kind == "fill":
        return "stop" if data.get("reason") in ("stop", "liquidation") else "fill"
    if kind == "trading_state":
        return "daily_loss" if data.get("state") == "REDUCING" else None
    if kind in ("rejection", "task_crash", "readiness"):
        return kind
    return None


def describe(event: Event) -> str:
    """One human line for a chat message."""
    kind, d = event["type"], event["data"]
    if kind == "fill":
        return f"{d['symbol']} {d['reason']} fill: {d['side']} {d['quantity']} @ {d['price']} (fee {d['fee']})"
    if kind == "rejection":
        return f"{d['symbol']} {d['side']} signal rejected: {d['rejection']} — {d['detail']}"
    if kind == "trading_state":
        return f"trading {d['state']}: {d['reason']}"
    if kind == "task_crash":
        return f"task {d['task']} crashed ({d['state']}, {d['restarts']} restarts): {d['error']}"
    if kind == "readiness":
        if d["ready"] and d.get("degraded"):
            return "DEGRADED, trading goes on: " + "; ".join(f"{c['name']}: {c['detail']}" for c in d["checks"])
        if d["ready"]:
            return "ready again: every check passes"
        return "NOT READY: " + "; ".join(f"{c['name']}: {c['detail']}" for c in d["checks"])
    return f"{kind}: {d}"


class Notifier:
    """An event sink (``notify``) plus the delivery stage (``run``)."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._queue: asyncio.Queue[Event] = asyncio.Queue(settings.queue_size)
        self._wanted = set(settings.events)
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self.settings.webhook_url is not None or self.settings.telegram_token is not None

    def notify(self, event: Event) -> None:
        """Queue an event if it is wanted; never waits. A full queue drops the new message and says so."""
        name = category(event)
        if name is None or name not in self._wanted:
            return
        try:
            self._queue.put_nowait({**event, "category": name})
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning(
                "notification dropped: %d undelivered messages are waiting (notify.queue_size)", self._queue.qsize()
            )

    async def run(self, ctx: StageContext) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                try:
                    event = await asyncio.wait_for(self._queue.get(), timeout=1.0)
                except TimeoutError:
                    ctx.beat()
                    continue
                ctx.beat()
                await self._deliver(session, event)

    async def _deliver(self, session: aiohttp.ClientSession, event: Event) -> None:
        s = self.settings
        if s.webhook_url is not None:
            await self._post(session, "webhook", s.webhook_url.get_secret_value(), event, event["category"])
        if s.telegram_token is not None:
            url = f"{s.telegram_api_url.rstrip('/')}/bot{s.telegram_token.get_secret_value()}/sendMessage"
            text = f"ictbot: {describe(event)}"
            await self._post(session, "telegram", url, {"chat_id": s.telegram_chat_id, "text": text}, event["category"])

    async def _post(self, session: aiohttp.ClientSession, channel: str, url: str, body: Event, what: str) -> None:
        """One attempt; the URL (it may hold a token) never reaches the log."""
        try:
            async with session.post(url, json=body) as response:
                if response.status >= 300:
                    raise _Refused(f"HTTP {response.status}")
            self.sent += 1
        except (aiohttp.ClientError, TimeoutError, _Refused) as exc:
            self.failed += 1
            reason = str(exc) if isinstance(exc, _Refused) else type(exc).__name__
            log.warning("%s notification (%s) failed: %s; trading continues", channel, what, reason)


class _Refused(Exception):
    """The receiver answered, but not with success."""
