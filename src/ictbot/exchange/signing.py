"""Binance's HMAC-SHA256 request signing, checked the way the venue checks it.

The signed payload is the raw query string concatenated with the raw body, exactly as received, minus the trailing
``signature`` parameter; the timestamp must fall inside ``recvWindow`` of the server clock and not run 1 s ahead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ictbot.exchange.errors import BinanceError

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000


@dataclass(frozen=True, slots=True)
class Credentials:
    """The funded test account's API key and secret."""

    api_key: str
    api_secret: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls(secrets.token_hex(32), secrets.token_hex(32))


def signature(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` keyed with ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_api_key(credentials: Credentials, header: str | None) -> None:
    """Raise -2015 unless the ``X-MBX-APIKEY`` header names this account."""
    if header is None or not hmac.compare_digest(header, credentials.api_key):
        raise BinanceError(-2015)


def verify_signed(credentials: Credentials, query: str, body: str, params: dict[str, str], server_time: int) -> None:
    """Check a SIGNED request: API key first (done by the caller), then signature, then timestamp window."""
    payload, sent = _split_signature(query, body)
    if not sent:
        raise BinanceError(-1102, "signature")
    if not hmac.compare_digest(signature(credentials.api_secret, payload), sent.lower()):
        raise BinanceError(-1022)
    try:
        timestamp = int(params["timestamp"])
    except (KeyError, ValueError):
        raise BinanceError(-1102, "timestamp") from None
    try:
        recv_window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW))
    except ValueError:
        raise BinanceError(-1102, "recvWindow") from None
    if recv_window <= 0 or recv_window > MAX_RECV_WINDOW:
        raise BinanceError(-1130, "recvWindow")
    if timestamp >= server_time + 1000:
        raise BinanceError(-1021, msg="Timestamp for this request was 1000ms ahead of the server's time.")
    if server_time - timestamp > recv_window:
        raise BinanceError(-1021)


def _split_signature(query: str, body: str) -> tuple[str, str]:
    """``(signed payload, signature)``; the signature must be the last parameter of the query or the body."""
    for part, is_query in ((body, False), (query, True)):
        head, sep, value = part.rpartition("signature=")
        if sep and (head == "" or head.endswith("&")) and "&" not in value:
            stripped = head[:-1] if head.endswith("&") else head
            return (stripped + body if is_query else query + stripped), value
    return query + body, ""
