"""Search ranges a strategy's settings declare for the optimiser, as ``Annotated`` metadata on their fields.

A strategy's settings are a pydantic model; a field that the optimiser may vary carries one ``SearchRange`` (numbers)
or ``SearchChoice`` (a finite set), e.g. ``reward_risk: Annotated[float, SearchRange(1.0, 4.0, step=0.25)] = 2.0``.
The default stays the value a user gets without optimising; the range only says where a search may look.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class SearchRange:
    """Numbers from ``low`` to ``high`` inclusive; ``step`` quantises, ``log`` samples on a log scale."""

    low: float
    high: float
    step: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"SearchRange needs low < high (got {self.low}, {self.high})")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"SearchRange step must be positive (got {self.step})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scale SearchRange needs low > 0")


@dataclass(frozen=True, slots=True)
class SearchChoice:
    """One of a finite set of values (booleans, literals, timeframes)."""

    choices: tuple[Any, ...]

    def __post_init__(self) -> None:
        if len(self.choices) < 2:
            raise ValueError("SearchChoice needs at least two choices")


SearchSpec = SearchRange | SearchChoice


def search_space(model: type[BaseModel]) -> dict[str, SearchSpec]:
    """Every field of ``model`` that declares a search range, by field name, in declaration order."""
    space: dict[str, SearchSpec] = {}
    for name, field in model.model_fields.items():
        specs = [m for m in field.metadata if isinstance(m, SearchRange | SearchChoice)]
        if len(specs) > 1:
            raise ValueError(f"{model.__name__}.{name} declares more than one search range")
        if specs:
            space[name] = specs[0]
    return space
