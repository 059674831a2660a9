"""Binance's error answers: the exact code, message and HTTP status a client sees."""

from __future__ import annotations

MESSAGES: dict[int, str] = {
    -1000: "An unknown error occured while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too many requests; current limit is {} requests per minute. "
    "Please use the websocket for live updates to avoid polling the API.",
    -1007: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    -1008: "Request throttled by system-level protection. Reduce-only/close-position orders are exempt. "
    "Please try again.",
    -1015: "Too many new orders; current limit is {} orders per {}.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1102: "Mandatory parameter '{}' was not sent, was empty/null, or malformed.",
    -1106: "Parameter '{}' sent when not required.",
    -1111: "Precision is over the maximum defined for this asset.",
    -1116: "Invalid orderType.",
    -1117: "Invalid side.",
    -1121: "Invalid symbol.",
    -1125: "This listenKey does not exist. Please use POST /fapi/v1/listenKey to recreate listenKey",
    -1130: "Data sent for parameter '{}' is not valid.",
    -2010: "NEW_ORDER_REJECTED",
    -2011: "Unknown order sent.",
    -2013: "Order does not exist.",
    -2015: "Invalid API-key, IP, or permissions for action.",
    -2019: "Margin is insufficient.",
    -2021: "Order would immediately trigger.",
    -2022: "ReduceOnly Order is rejected.",
    -2025: "Reach max open order limit.",
    -4001: "Price less than 0.",
    -4003: "Quantity less than zero.",
    -4004: "Quantity less than min quantity.",
    -4005: "Quantity greater than max quantity.",
    -4014: "Price not increased by tick size.",
    -4015: "Client order id length should not be more than 36 chars",
    -4016: "Price is higher than mark price multiplier cap.",
    -4023: "Qty not increased by step size.",
    -4024: "Price is lower than mark price multiplier floor.",
    -4028: "Leverage {} is not valid",
    -4046: "No need to change margin type.",
    -4047: "Margin type cannot be changed if there exists open orders.",
    -4048: "Margin type cannot be changed if there exists position.",
    -4059: "No need to change position side.",
    -4061: "Order's position side does not match user's setting.",
    -4067: "Position side cannot be changed if there exists open orders.",
    -4068: "Position side cannot be changed if there exists position.",
    -4116: "clientOrderId is duplicated",
    -4120: "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
    -4130: "An open stop or take profit order with GTE and closePosition in the direction is existing.",
    -4136: "Target strategy invalid for orderType {},closePosition {}",
    -4137: "Quantity must be zero with closePosition equals true",
    -4138: "Reduce only must be true with closePosition equals true",
    -4161: "Leverage reduction is not supported in Isolated Margin Mode with open positions",
    -4164: "Order's notional must be no smaller than {} (unless you choose reduce only).",
    -5021: "Due to the order could not be filled immediately, the FOK order has been rejected.",
    -5022: "Due to the order could not be executed as maker, the Post Only order will be rejected.",
}

_STATUS = {-2015: 401, -1003: 429, -1015: 429, -1007: 503, -1001: 500}


class BinanceError(Exception):
    """An error answer: HTTP ``status`` with body ``{"code": code, "msg": msg}``."""

    def __init__(self, code: int, *args: object, status: int | None = None, msg: str | None = None) -> None:
        self.code = code
        self.msg = msg if msg is not None else MESSAGES[code].format(*args)
        self.status = status if status is not None else _STATUS.get(code, 400)
        super().__init__(f"{self.code} {self.msg}")

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}
