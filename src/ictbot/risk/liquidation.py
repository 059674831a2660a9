"""Isolated-margin liquidation price, Binance's one-way formula (spec §8; freqtrade uses the same form).

LP = (WB + cum − side × Q × EP) / (Q × MMR − side × Q), with WB the position's isolated wallet (its margin),
(MMR, cum) the maintenance bracket of the position's notional, side +1 long / −1 short, Q the size, EP the entry.
"""

from __future__ import annotations

from decimal import Decimal

from ictbot.domain import Side
from ictbot.symbols import bracket_for


def isolated_liquidation_price(
    side: Side, quantity: Decimal, entry: Decimal, wallet: Decimal, mmr: Decimal, cum: Decimal
) -> Decimal:
    sign = side.sign
    price = (wallet + cum - sign * quantity * entry) / (quantity * mmr - sign * quantity)
    return max(price, Decimal(0))


def liquidation_price_at_leverage(symbol: str, side: Side, quantity: Decimal, entry: Decimal, leverage: int) -> Decimal:
    """Liquidation price of a fresh isolated position whose margin is notional ÷ leverage."""
    notional = quantity * entry
    bracket = bracket_for(symbol, notional)
    return isolated_liquidation_price(
        side, quantity, entry, notional / leverage, bracket.maint_margin_ratio, bracket.cum
    )
