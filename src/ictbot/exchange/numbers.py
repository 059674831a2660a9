"""Exact decimal parsing and Binance-style formatting (numbers as JSON strings)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ictbot.exchange.errors import BinanceError

ZERO = Decimal(0)


def places(step: Decimal) -> int:
    """Decimal places as written (``0.10`` → 2, ``1`` → 0); normalize first to count significant places."""
    exponent = step.as_tuple().exponent
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def fmt(value: Decimal, decimals: int | None = None) -> str:
    """Plain (never scientific) text; quantized to ``decimals`` places when given."""
    if decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    text = format(value, "f")
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text


def parse_decimal(params: dict[str, str], name: str, *, required: bool = True) -> Decimal | None:
    """A decimal request parameter; -1102 when required and absent or malformed."""
    text = params.get(name)
    if text is None or text == "":
        if required:
            raise BinanceError(-1102, name)
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BinanceError(-1102, name) from None
    if not value.is_finite():
        raise BinanceError(-1102, name)
    return value


def parse_bool(params: dict[str, str], name: str) -> bool:
    text = params.get(name, "false").lower()
    if text not in ("true", "false"):
        raise BinanceError(-1102, name)
    return text == "true"


def parse_int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise BinanceError(-1102, name) from None
