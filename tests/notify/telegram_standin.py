"""A local stand-in for Telegram's Bot API on 127.0.0.1: ``getUpdates`` (long polling, with Telegram's offset rule:
asking with ``offset`` N forgets every update below N, and an update is delivered again until then) and
``sendMessage``. Tests ``send`` messages as users of given chats and read what the bot answered."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from helpers.http import serve_on_loopback


@dataclass
class Reply:
    chat_id: int
    text: str


@dataclass
class TelegramStandIn:
    token: str
    updates: list[dict[str, Any]] = field(default_factory=list)  # not yet confirmed by an offset
    replies: list[Reply] = field(default_factory=list)
    offsets: list[int | None] = field(default_factory=list)  # the offset of every getUpdates call, in order
    on_reply: Callable[[Reply], None] | None = None
    url: str = ""
    _next_id: int = 500_000_000
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    def send(self, chat_id: int, text: str, *, age_s: float = 0) -> int:
        """A message from a user of ``chat_id``, as Telegram queues it; returns its update id."""
        self._next_id += 1
        message = {"message_id": self._next_id, "date": int(time.time() - age_s), "text": text}
        message["chat"] = {"id": chat_id, "type": "private"}
        message["from"] = {"id": chat_id, "is_bot": False, "first_name": "Trader"}
        self.updates.append({"update_id": self._next_id, "message": message})
        self._arrived.set()
        return self._next_id

    def replies_to(self, chat_id: int) -> list[str]:
        return [r.text for r in self.replies if r.chat_id == chat_id]

    async def _get_updates(self, request: web.Request) -> web.Response:
        body = await request.json()
        offset = body.get("offset")
        self.offsets.append(offset)
        if offset is not None:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout=float(body.get("timeout", 0)))
        return web.json_response({"ok": True, "result": list(self.updates)})

    async def _send_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        reply = Reply(int(body["chat_id"]), str(body["text"]))
        self.replies.append(reply)
        if self.on_reply is not None:
            self.on_reply(reply)
        return web.json_response({"ok": True, "result": {"message_id": len(self.replies), "text": reply.text}})

    async def _route(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        handler = {"getUpdates": self._get_updates, "sendMessage": self._send_message}.get(request.match_info["method"])
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        return await handler(request)

    async def __aenter__(self) -> TelegramStandIn:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._route)
        self._runner, self.url = await serve_on_loopback(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
