"""Exchange filters per symbol (tick, step, minimums) and exact rounding to them.

Known symbols carry Binance USDT-M's real filter values; others get plausible filters derived from their price level,
so a backtest or the local exchange can still round the way the venue would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """A symbol's trading filters as Binance's exchangeInfo reports them."""

    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal
    max_qty: Decimal = Decimal(1_000_000)
    market_max_qty: Decimal = Decimal(1_000_000)
    percent_up: Decimal = Decimal("1.05")
    percent_down: Decimal = Decimal("0.95")
    max_leverage: int = 125

    def round_price(self, price: float | Decimal) -> Decimal:
        """Nearest tick."""
        return (Decimal(str(price)) / self.tick_size).quantize(Decimal(1), ROUND_HALF_UP) * self.tick_size

    def round_qty_down(self, quantity: float | Decimal) -> Decimal:
        """Largest multiple of the step not above ``quantity`` (never size up past a risk cap)."""
        return (Decimal(str(quantity)) / self.step_size).quantize(Decimal(1), ROUND_DOWN) * self.step_size


def _spec(symbol: str, tick: str, step: str, min_qty: str, min_notional: str, **kw: object) -> SymbolSpec:
    return SymbolSpec(symbol, Decimal(tick), Decimal(step), Decimal(min_qty), Decimal(min_notional), **kw)  # type: ignore[arg-type]


KNOWN_SYMBOLS: dict[str, SymbolSpec] = {
    s.symbol: s
    for s in (
        _spec("BTCUSDT", "0.10", "0.001", "0.001", "100", max_qty=Decimal(1000), market_max_qty=Decimal(120)),
        _spec("ETHUSDT", "0.01", "0.001", "0.001", "20", max_qty=Decimal(10000), market_max_qty=Decimal(2000)),
        _spec("SOLUSDT", "0.0100", "1", "1", "5", max_qty=Decimal(1_000_000), market_max_qty=Decimal(5000)),
        _spec("XRPUSDT", "0.0001", "0.1", "0.1", "5", max_qty=Decimal(10_000_000), market_max_qty=Decimal(2_000_000)),
        _spec("LINKUSDT", "0.001", "0.01", "0.01", "20", max_qty=Decimal(1_000_000), market_max_qty=Decimal(50_000)),
    )
}


def symbol_spec(symbol: str, reference_price: float | None = None) -> SymbolSpec:
    """The filters for ``symbol``: Binance's real ones when known, else derived from ``reference_price``."""
    known = KNOWN_SYMBOLS.get(symbol)
    if known is not None:
        return known
    if reference_price is None or reference_price <= 0:
        raise ValueError(f"no filters known for {symbol}; pass a reference price to derive plausible ones")
    # About five significant digits of price and a step worth roughly 1 USDT / 100, as Binance lists new symbols.
    tick_exp = math.floor(math.log10(reference_price)) - 4
    step_exp = min(0, math.floor(math.log10(max(1.0 / reference_price, 1e-8))) + 1)
    tick = Decimal(1).scaleb(tick_exp)
    step = Decimal(1).scaleb(step_exp)
    return SymbolSpec(symbol, tick, step, step, Decimal(5))


@dataclass(frozen=True, slots=True)
class LeverageBracket:
    """One notional tier of Binance's maintenance-margin table (``GET /fapi/v1/leverageBracket``)."""

    bracket: int
    initial_leverage: int
    notional_floor: Decimal
    notional_cap: Decimal
    maint_margin_ratio: Decimal
    cum: Decimal


# (cap, max leverage, maintenance-margin ratio) per tier; BTC/ETH follow Binance's published table, others a
# representative altcoin table. ``cum`` is derived as Binance defines it, so margins are continuous at each floor.
_MAJOR_TIERS = (
    (50_000, 125, "0.004"),
    (600_000, 100, "0.005"),
    (3_000_000, 75, "0.0065"),
    (12_000_000, 50, "0.01"),
    (70_000_000, 25, "0.02"),
    (100_000_000, 20, "0.025"),
    (230_000_000, 10, "0.05"),
    (480_000_000, 5, "0.1"),
    (600_000_000, 4, "0.125"),
    (800_000_000, 3, "0.15"),
    (1_200_000_000, 2, "0.25"),
    (1_800_000_000, 1, "0.5"),
)
_ALT_TIERS = (
    (5_000, 75, "0.0065"),
    (50_000, 50, "0.01"),
    (250_000, 25, "0.02"),
    (1_000_000, 20, "0.025"),
    (5_000_000, 10, "0.05"),
    (12_500_000, 5, "0.1"),
    (25_000_000, 4, "0.125"),
    (50_000_000, 2, "0.25"),
    (100_000_000, 1, "0.5"),
)


def _brackets(tiers: tuple[tuple[int, int, str], ...]) -> tuple[LeverageBracket, ...]:
    out: list[LeverageBracket] = []
    floor, cum, previous_mmr = Decimal(0), Decimal(0), Decimal(0)
    for n, (cap, leverage, mmr_text) in enumerate(tiers, start=1):
        mmr = Decimal(mmr_text)
        cum += floor * (mmr - previous_mmr)
        out.append(LeverageBracket(n, leverage, floor, Decimal(cap), mmr, cum))
        floor, previous_mmr = Decimal(cap), mmr
    return tuple(out)


_MAJOR_BRACKETS = _brackets(_MAJOR_TIERS)
_ALT_BRACKETS = _brackets(_ALT_TIERS)


def leverage_brackets(symbol: str) -> tuple[LeverageBracket, ...]:
    """Maintenance-margin tiers for ``symbol``, lowest notional first."""
    return _MAJOR_BRACKETS if symbol in ("BTCUSDT", "ETHUSDT") else _ALT_BRACKETS


def bracket_for(symbol: str, notional: Decimal) -> LeverageBracket:
    """The tier whose ``(floor, cap]`` contains ``notional`` (the last tier beyond the table)."""
    tiers = leverage_brackets(symbol)
    for tier in tiers:
        if notional <= tier.notional_cap:
            return tier
    return tiers[-1]
