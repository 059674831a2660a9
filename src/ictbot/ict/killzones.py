"""Killzones: daily windows in New York local time. Kept apart from the session detectors so that the settings can
name them without compiling the detectors' kernels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Killzone:
    """A daily window ``[start, end)`` in minutes after New York local midnight."""

    name: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 1440:
            raise ValueError(
                f"killzone {self.name!r}: need 0 ≤ start < end ≤ 24:00 (minutes), got {self.start}–{self.end}"
            )

    @classmethod
    def parse(cls, name: str, start: str, end: str) -> Killzone:
        """From ``"HH:MM"`` strings; ``"24:00"`` is the end of the day."""

        def minutes(text: str) -> int:
            hours, mins = text.split(":")
            return int(hours) * 60 + int(mins)

        return cls(name, minutes(start), minutes(end))


DEFAULT_KILLZONES = (
    Killzone.parse("asia", "20:00", "24:00"),
    Killzone.parse("london", "02:00", "05:00"),
    Killzone.parse("ny_am", "07:00", "10:00"),
    Killzone.parse("ny_pm", "13:30", "16:00"),
)
