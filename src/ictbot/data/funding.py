"""Funding settlements for backtests, from Binance's funding-rate and mark-price history files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from ictbot.data.loaders import load_funding_rates, load_mark_prices
from ictbot.errors import DataError


class FundingSchedule:
    """Funding times (ms) with their rate and the mark price at that time, consumed in time order."""

    def __init__(self, times: np.ndarray, rates: np.ndarray, marks: np.ndarray) -> None:
        self.times = times
        self.rates = [Decimal(str(r)) for r in rates.tolist()]
        self.marks = [Decimal(str(m)) for m in marks.tolist()]
        self._next = 0

    def due(self, now: int) -> list[tuple[Decimal, Decimal]]:
        """(rate, mark) of every funding time ≤ ``now`` not yet settled; earlier ones are skipped once."""
        out = []
        while self._next < len(self.times) and self.times[self._next] <= now:
            out.append((self.rates[self._next], self.marks[self._next]))
            self._next += 1
        return out

    def skip_before(self, start: int) -> None:
        """Drop funding times before the backtest starts: no position existed then."""
        self._next = int(np.searchsorted(self.times, start, "left"))

    @classmethod
    def from_files(cls, funding_file: Path, mark_file: Path) -> FundingSchedule:
        times, rates = load_funding_rates(funding_file)
        mark = load_mark_prices(mark_file)
        index = np.searchsorted(mark.open_time, times)
        found = (index < len(mark)) & (mark.open_time[np.minimum(index, len(mark) - 1)] == times)
        if not np.all(found):
            missing = int(times[~found][0])
            raise DataError(f"{mark_file}: no mark price at funding time {missing}; use the matching mark file")
        return cls(times, rates, mark.open[index])


def sibling_schedule(candle_file: Path) -> FundingSchedule | None:
    """The schedule stored beside a candle file named like ``BTC_USDT_USDT-1m-futures.feather``, if present."""
    stem = candle_file.name.split("-")[0]
    funding = candle_file.with_name(f"{stem}-8h-funding_rate.feather")
    mark = candle_file.with_name(f"{stem}-8h-mark.feather")
    if funding.exists() and mark.exists():
        return FundingSchedule.from_files(funding, mark)
    return None
