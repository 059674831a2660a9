"""Fixed-size sample rings for latency figures: allocated once, so measuring never makes a long-running bot grow."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Samples:
    """The newest ``size`` measurements, oldest first when read."""

    def __init__(self, size: int, dtype: type = np.int64) -> None:
        self._values = np.zeros(size, dtype=dtype)
        self._count = 0  # measurements ever appended since the last clear

    def append(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    def clear(self) -> None:
        self._count = 0

    def values(self) -> np.ndarray:
        size = len(self._values)
        if self._count <= size:
            return self._values[: self._count].copy()
        cut = self._count % size
        return np.concatenate((self._values[cut:], self._values[:cut]))

    def __len__(self) -> int:
        return min(self._count, len(self._values))

    def __iter__(self) -> Iterator[float]:
        return iter(self.values().tolist())
