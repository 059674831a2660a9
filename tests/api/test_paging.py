"""A page of /trades equals the same page of every trade sorted at once, while reading only the closed rows it can
hold — however the open trades interleave with the closed ones, ties included."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from ictbot.api.paging import newest_first_page


@dataclass(frozen=True)
class Entered:
    entry_time: int
    name: str


class ClosedTrades:
    """The database's side: closed trades newest first, and the reads asked of it."""

    def __init__(self, trades: list[Entered]) -> None:
        self.trades = sorted(trades, key=lambda t: t.entry_time, reverse=True)
        self.reads: list[tuple[int, int]] = []

    def read(self, start: int, count: int) -> list[Entered]:
        self.reads.append((start, count))
        return self.trades[start : start + count]


@given(
    open_times=st.lists(st.integers(0, 30), max_size=6),
    closed_times=st.lists(st.integers(0, 30), max_size=40),
    offset=st.integers(0, 50),
    limit=st.integers(1, 12),
)
def test_a_merged_page_is_the_page_of_everything_sorted_and_reads_only_what_it_can_hold(
    open_times: list[int], closed_times: list[int], offset: int, limit: int
) -> None:
    opened = [Entered(t, f"open{i}") for i, t in enumerate(open_times)]
    closed = ClosedTrades([Entered(t, f"closed{i}") for i, t in enumerate(closed_times)])

    everything = sorted([*opened, *closed.trades], key=lambda t: t.entry_time, reverse=True)
    page = newest_first_page(opened, closed.read, offset, limit)

    assert page == everything[offset : offset + limit]
    assert len(closed.reads) == 1 and closed.reads[0][1] <= limit + len(opened)


def test_a_page_deep_in_a_long_history_reads_a_page_and_not_the_history() -> None:
    closed = ClosedTrades([Entered(100_000 - i, f"closed{i}") for i in range(100_000)])
    opened = [Entered(100_001, "open-newest"), Entered(50_000, "open-middle")]

    page = newest_first_page(opened, closed.read, 50_000, 5)

    assert [t.name for t in page] == ["closed49999", "open-middle", "closed50000", "closed50001", "closed50002"]
    assert closed.reads == [(49_998, 7)]
