"""The daily loss limit's memory: the account's result since 00:00 UTC, rebuilt from its recorded history at start.

A bot that starts again mid-day must not forget the day's losses. The day's opening equity is the wallet the venue
reports now, less what the recorded fills (realized PnL, fees) and funding payments changed it by since 00:00, plus
the unrealized PnL the positions held at 00:00 had at that minute's marks. A REDUCING state reached today is read back
from the recorded trading-state events, so it holds until 00:00 UTC whatever the process does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from ictbot.portfolio.ledger import Portfolio
from ictbot.risk.gate import RiskGate, TradingState
from ictbot.storage import EventKind
from ictbot.storage.reads import RecordReader

DAY_MS = 86_400_000
REDUCING_PREFIX = "REDUCING"


class Pipeline(Protocol):
    """What carrying a day on needs of the pipeline: its account, its risk gate and its day's opening equity."""

    portfolio: Portfolio
    gate: RiskGate

    def restore_day(self, day: int, opening_equity: Decimal) -> None: ...


@dataclass(frozen=True, slots=True)
class DayHistory:
    """What the database says about today (UTC) so far."""

    day: int  # days since the epoch
    net_since_open: Decimal  # realized PnL − fees + funding recorded since 00:00
    held_at_open: dict[str, tuple[Decimal, Decimal]]  # symbol → (signed quantity, entry price) at 00:00
    reducing: str | None  # the reason of a REDUCING state recorded today, if it is the latest trading state

    @property
    def start_ms(self) -> int:
        return self.day * DAY_MS

    def opening_equity(self, wallet: Decimal, marks_at_open: Mapping[str, Decimal]) -> Decimal:
        """The equity at 00:00: ``wallet`` now less today's recorded results, plus the unrealized PnL at 00:00 of
        what was held then (``marks_at_open``: each held symbol's price at 00:00)."""
        unrealized = sum(
            (quantity * (marks_at_open[symbol] - entry) for symbol, (quantity, entry) in self.held_at_open.items()),
            Decimal(0),
        )
        return wallet - self.net_since_open + unrealized


def day_history(reader: RecordReader, now_ms: int, symbols: list[str]) -> DayHistory:
    """Today's recorded results, the positions of ``symbols`` held at 00:00 and a REDUCING state recorded today."""
    day = now_ms // DAY_MS
    key = datetime.fromtimestamp(day * DAY_MS / 1000, UTC).date().isoformat()
    net = Decimal(0)
    for row in reader.daily_pnl(limit=2):
        if row.day == key:
            net = row.net_pnl
    held = {}
    for symbol in symbols:
        snapshot = reader.position_before(symbol, day * DAY_MS)
        if snapshot is not None and snapshot.quantity != 0:
            held[symbol] = (snapshot.quantity, snapshot.entry_price)
    reducing = None
    [last] = reader.events(kind=EventKind.TRADING_STATE, limit=1) or [None]
    if last is not None and last.detail.startswith(REDUCING_PREFIX) and last.time // DAY_MS == day:
        reducing = last.detail.removeprefix(f"{REDUCING_PREFIX}: ")
    return DayHistory(day, net, held, reducing)


def reducing_detail(reason: str) -> str:
    """The trading-state event recorded when the daily loss limit is reached (``day_history`` reads it back)."""
    return f"{REDUCING_PREFIX}: {reason}"


def restore_day(pipeline: Pipeline, history: DayHistory, marks_at_open: Mapping[str, Decimal]) -> Decimal:
    """Carry today on in ``pipeline`` (its portfolio already holds the venue's wallet): the loss counts from the
    opening equity rebuilt from ``history``, and a REDUCING state recorded today is taken up again. Returns the
    opening equity."""
    opening = history.opening_equity(pipeline.portfolio.cash, marks_at_open)
    pipeline.restore_day(history.day, opening)
    if history.reducing is not None and pipeline.gate.state is TradingState.ACTIVE:
        pipeline.gate.reduce(history.reducing, history.day)
    return opening
