"""The fault matrix: every fault knob of the local exchange × every point where the process can die during an entry.

Each cell sends one entry while the venue misbehaves, kills the bot where the cell says (or not), restarts it on its
database and reconciles once the venue is well again. It then holds the crash-safety invariants (one order per client
id, one stop per position, database = venue) and records what a user cares about: duplicates, the longest time a
position stood without a stop as the venue itself measured it, entries filled after their expiry, and how long the
restarted bot took to agree with the venue. ``bench/fault_summary.py`` runs it repeatedly under CPU load and
tabulates the cells; ``ICTBOT_FAULT_LOG`` names the file the figures go to.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from ictbot.errors import VenueError
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueClient

from .harness import Bot, Killed, assert_consistent, killing_client, log_outcome, market_intent
from .test_faults import KILL_POINTS

MAX_UNPROTECTED_S = 2.0  # the bound the matrix holds the bot to (execution.max_unprotected_s)
CANDLE_MS = 60_000

FAULTS: dict[str, Callable[[LocalExchange], Any]] = {
    "none": lambda ex: None,
    "three 503s": lambda ex: ex.fail_requests(3, status=503),
    "unknown status, executed": lambda ex: ex.unknown_status(executed=True),
    "unknown status, not executed": lambda ex: ex.unknown_status(executed=False),
    "partial fills": lambda ex: ex.partial_fills(0.5),
    "throttled (429)": lambda ex: ex.throttle(1),
    "banned (418)": lambda ex: ex.ban(120),
    "latency 200 ms": lambda ex: ex.set_latency(200),
}
KILLS: dict[str, tuple[str, bool, str] | None] = {"no crash": None, **KILL_POINTS}


def _client(exchange: LocalExchange, kill: tuple[str, bool, str] | None) -> Callable[[dict], VenueClient]:
    """The cell's client: it dies at the kill point; its waits (a 429/418 pause) let market time pass and end the
    pause on the venue too, as a real wait of minutes would."""

    async def waits_in_market_time(seconds: float) -> None:
        if seconds >= 1:
            await exchange.advance(math.ceil(seconds / 60))
            exchange.lift_limits()

    kind = killing_client(kill[0], after_request=kill[1], id_suffix=kill[2]) if kill else VenueClient
    return lambda config: kind(config, sleep=waits_in_market_time)


def _heal(exchange: LocalExchange) -> None:
    exchange.faults.failures.clear()
    exchange.faults.unknown_status.clear()
    exchange.partial_fills(None)
    exchange.lift_limits()
    exchange.set_latency(0)


def _stale_fills(exchange: LocalExchange, cid: str, expires_at: int) -> int:
    """Trades of the entry on the venue after its expiry."""
    ids = {o.order_id for o in exchange.engine.orders.values() if o.client_order_id == cid}
    return sum(1 for t in exchange.engine.trades if t.order_id in ids and t.time > expires_at)


@pytest.mark.parametrize("kill", list(KILLS))
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_matrix_cell(bot: Bot, exchange: LocalExchange, fault: str, kill: str) -> None:
    manager = await bot.start(_client(exchange, KILLS[kill]), max_unprotected_s=MAX_UNPROTECTED_S)
    exchange.engine.protection.reset()
    intent = market_intent(exchange)
    intent = dataclasses.replace(intent, expires_at=int(exchange.replay.now) + CANDLE_MS)
    FAULTS[fault](exchange)
    manager.submit(intent)
    try:
        await bot.run_jobs()
    except Killed:
        await bot.crash()
        _heal(exchange)  # the process comes back once the venue answers again
        await bot.start(_client(exchange, None), max_unprotected_s=MAX_UNPROTECTED_S)
    except VenueError:
        pass  # the venue refused for longer than the job's retries: reconciliation takes over
    _heal(exchange)

    outage_over = time.monotonic()
    for _ in range(5):
        report = await bot.reconcile(apply_fills=False)
        if report.ok:
            break
    recovery_s = time.monotonic() - outage_over
    longest = exchange.engine.protection.longest_s()
    stale = _stale_fills(exchange, intent.client_order_id, intent.expires_at)
    log_outcome(unprotected_s=round(longest, 3), stale=stale, recovery_s=round(recovery_s, 3))

    assert report.ok, report.problems
    assert_consistent(exchange, bot.recorder)
    assert stale == 0
    assert longest <= MAX_UNPROTECTED_S + 1.0  # the bound, and the second a close at market may take
