"""Binance's IP weight and order-count limiters: headers on every answer, 429 when exceeded, 418 when ignored."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ictbot.exchange.errors import BinanceError

MINUTE_MS = 60_000


def request_weight(method: str, path: str, params: dict[str, str]) -> int:
    """The documented IP weight of a request (§4 of the spec); unknown paths weigh 1."""
    has_symbol = bool(params.get("symbol"))
    if path in ("/fapi/v1/klines", "/fapi/v1/markPriceKlines"):
        limit = int(params.get("limit") or 500)
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    if method == "POST" and path in ("/fapi/v1/order", "/fapi/v1/algoOrder"):
        return 0
    if path in ("/fapi/v1/openOrders", "/fapi/v1/openAlgoOrders", "/fapi/v1/premiumIndex"):
        return 1 if has_symbol else (10 if path.endswith("premiumIndex") else 40)
    fixed = {
        "/fapi/v2/account": 5,
        "/fapi/v3/account": 5,
        "/fapi/v2/balance": 5,
        "/fapi/v3/balance": 5,
        "/fapi/v2/positionRisk": 5,
        "/fapi/v3/positionRisk": 5,
        "/fapi/v1/symbolConfig": 5,
        "/fapi/v1/accountConfig": 5,
        "/fapi/v1/userTrades": 5,
        "/fapi/v1/allOrders": 5,
        "/fapi/v1/allAlgoOrders": 5,
        "/fapi/v1/income": 30,
        "/fapi/v1/commissionRate": 20,
    }
    if path == "/fapi/v1/positionSide/dual" and method == "GET":
        return 30
    return fixed.get(path, 1)


@dataclass
class RateLimiter:
    """Per-IP weight per minute and per-account order counts (10 s and 1 min), on the wall clock."""

    weight_limit: int = 2400
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    rejections_before_ban: int = 5
    ban_ms: int = 120_000
    used_weight: int = 0
    window: int = -1
    rejected: int = 0
    banned_until: int = 0
    order_times: deque[int] = field(default_factory=deque)

    def charge(self, weight: int, now: int) -> None:
        """Count a request; raises 429 over the limit and 418 once a client keeps going after 429s."""
        if now < self.banned_until:
            raise self._ban_error()
        if now // MINUTE_MS != self.window:
            self.window, self.used_weight, self.rejected = now // MINUTE_MS, 0, 0
        self.used_weight += weight
        if self.used_weight > self.weight_limit:
            self.rejected += 1
            if self.rejected > self.rejections_before_ban:
                self.ban(now, self.ban_ms)
                raise self._ban_error()
            raise BinanceError(-1003, self.weight_limit)

    def ban(self, now: int, duration_ms: int) -> None:
        self.banned_until = now + duration_ms

    def _ban_error(self) -> BinanceError:
        msg = (
            f"Way too many requests; IP banned until {self.banned_until}. "
            "Please use the websocket for live updates to avoid bans."
        )
        return BinanceError(-1003, status=418, msg=msg)

    def count_order(self, now: int) -> None:
        """Count a new order against the order limiters; -1015 (429) when either is full."""
        while self.order_times and self.order_times[0] <= now - MINUTE_MS:
            self.order_times.popleft()
        if sum(1 for t in self.order_times if t > now - 10_000) >= self.orders_per_10s:
            raise BinanceError(-1015, self.orders_per_10s, "10 SECOND")
        if len(self.order_times) >= self.orders_per_minute:
            raise BinanceError(-1015, self.orders_per_minute, "1 MINUTE")
        self.order_times.append(now)

    def order_counts(self, now: int) -> tuple[int, int]:
        return sum(1 for t in self.order_times if t > now - 10_000), sum(
            1 for t in self.order_times if t > now - MINUTE_MS
        )
