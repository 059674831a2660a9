"""All detector parameters in one place, with their defaults (documented in docs/ict.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ictbot.ict.killzones import DEFAULT_KILLZONES, Killzone


@dataclass(frozen=True, slots=True)
class IctConfig:
    swing_left: int = 5
    swing_right: int = 5
    break_on: str = "close"  # "close" | "wick"
    atr_period: int = 14
    fvg_min_size: float = 0.0  # price units: ticks × tick size
    fvg_min_atr_fraction: float = 0.0
    fvg_require_middle_direction: bool = False
    fvg_invalidate_on: str = "close"  # "close" | "fill"
    ob_anchor: str = "last_opposite"  # "last_opposite" | "extreme"
    ob_zone: str = "wick"  # "wick" | "body"
    ob_invalidate_on: str = "close"  # "close" | "wick"
    eq_fraction: float = 0.0
    eq_atr_fraction: float = 0.1
    killzones: tuple[Killzone, ...] = DEFAULT_KILLZONES
    max_age: int | None = None  # candles a gap, block, breaker or level is tracked after it became known; None: always

    def __post_init__(self) -> None:
        if self.max_age is not None and self.max_age < 1:
            raise ValueError(f"max_age must be at least 1 candle (or None to track zones forever), got {self.max_age}")
