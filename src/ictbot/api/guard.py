"""What a browser may do with the API: only this machine's names reach it, only its own pages open its event stream,
and no other site can frame or script it.

* **Host** must be a loopback name (``127.0.0.1``, ``localhost``, ``::1``), the configured ``api.host``, one of
  ``api.allowed_hosts`` (a container's service name) or the host of an ``api.cors_origins`` entry: a page on another
  site whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own name and is refused with 421.
* **Origin** of the ``/api/stream`` WebSocket, when sent (browsers always send it), must be a loopback origin, the
  configured host's or one of ``api.cors_origins``: WebSockets are not covered by CORS, so without this any site the
  user visits could read the bot's live events.
* Every HTTP answer carries a Content-Security-Policy (scripts from this server only), ``X-Frame-Options: DENY`` and
  ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from ictbot.config import ApiSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def _hostname(host: str) -> str:
    """``host[:port]`` or ``[v6]:port`` → the name alone, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware enforcing the Host and Origin rules above and adding the security headers."""

    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self.app = app
        self.origins = {origin.rstrip("/").lower() for origin in settings.cors_origins}
        self.hosts = LOOPBACK | {_hostname(settings.host)} | {urlsplit(o).hostname or "" for o in self.origins}
        self.hosts |= {name.strip().lower() for name in settings.allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        host = _hostname(headers.get("host", ""))
        if host not in self.hosts:
            await self._refuse(scope, send, 421, f"host {host!r} is not this bot; use http://127.0.0.1:<port>")
            return
        origin = headers.get("origin")
        if scope["type"] == "websocket" and origin is not None and not self._origin_allowed(origin):
            await self._refuse(scope, send, 403, f"origin {origin!r} may not open the event stream")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _origin_allowed(self, origin: str) -> bool:
        origin = origin.rstrip("/").lower()
        return origin in self.origins or (urlsplit(origin).hostname or "") in LOOPBACK | self.hosts - {""}

    @staticmethod
    async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
            return
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
