"""Amounts of money as people read them; files and the database keep the exact values."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def usdt(value: object) -> str:
    """An amount of USDT to the cent, half away from zero, e.g. ``1004.10 USDT``."""
    return f"{Decimal(str(value)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f} USDT"
