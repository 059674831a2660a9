"""Typed records every detector emits.

Common fields: ``kind``, ``direction`` (+1 bullish / buy-side / swing high, −1 bearish / sell-side / swing low),
``top``, ``bottom``, ``formed_at`` (open time, epoch ms, of the candle the pattern is anchored on) and ``known_at``
(open time of the candle at whose close the record became known). Lifecycle fields (``*_at``) start as ``None`` and are
set, once, to the open time of the candle at whose close the transition happened; it is always later than
``known_at``. ``expired_at`` (gaps, blocks, breakers, levels): nothing ended the record within ``IctConfig.max_age``
candles after it became known, so the detector stopped tracking it at that candle; its other fields stay as they
were. Records are mutable only in their lifecycle fields, which the incremental detectors advance in place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Swing:
    """A fractal swing point; ``top == bottom`` is its price. ``superseded_at``: a more extreme same-side swing
    was confirmed before any opposite swing (see ``swings``)."""

    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "swing"
    superseded_at: int | None = None

    @property
    def price(self) -> float:
        return self.top


@dataclass(slots=True)
class StructureBreak:
    """A BOS or CHoCH: a close (or wick) beyond the last confirmed swing. ``top == bottom`` is the broken level,
    ``formed_at`` the broken swing's candle; ``extreme`` / ``extreme_at`` the leg's opposite extreme."""

    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "bos"
    extreme: float = 0.0
    extreme_at: int = 0

    @property
    def level(self) -> float:
        return self.top


@dataclass(slots=True)
class FairValueGap:
    """A 3-candle imbalance; ``formed_at`` is the middle candle, ``known_at`` the third.

    ``fill`` is the deepest fraction of the gap price has re-entered so far (0 … 1)."""

    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "fvg"
    touched_at: int | None = None
    filled_at: int | None = None
    invalidated_at: int | None = None
    fill: float = 0.0
    expired_at: int | None = None


@dataclass(slots=True)
class OrderBlock:
    """The candle the displacement of a structure break started from; known at the break."""

    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "ob"
    mitigated_at: int | None = None
    invalidated_at: int | None = None
    expired_at: int | None = None


@dataclass(slots=True)
class BreakerBlock:
    """A failed order block with flipped polarity; known at the close that invalidated the order block."""

    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "breaker"
    retested_at: int | None = None
    invalidated_at: int | None = None
    expired_at: int | None = None


@dataclass(slots=True)
class LiquidityLevel:
    """Resting liquidity: ``eqh``/``eql`` pools, ``pdh``/``pdl`` and ``pwh``/``pwl`` previous day/week extremes.

    ``direction`` +1 is buy-side (above highs), −1 sell-side. A level ends once: ``swept_at`` (traded beyond and
    closed back inside) or ``broken_at`` (closed beyond)."""

    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "eqh"
    swept_at: int | None = None
    broken_at: int | None = None
    expired_at: int | None = None

    @property
    def level(self) -> float:
        return self.top if self.direction > 0 else self.bottom


@dataclass(slots=True)
class SessionRange:
    """The high/low of one killzone occurrence, known at the close of its last candle."""

    direction: int
    top: float
    bottom: float
    formed_at: int
    known_at: int
    kind: str = "killzone"
    name: str = ""


Record = Swing | StructureBreak | FairValueGap | OrderBlock | BreakerBlock | LiquidityLevel | SessionRange

LIFECYCLE_FIELDS = (
    "superseded_at",
    "touched_at",
    "filled_at",
    "mitigated_at",
    "retested_at",
    "invalidated_at",
    "swept_at",
    "broken_at",
    "expired_at",
)
