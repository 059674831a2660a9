"""Lockstep replay: the clock waits for the bot to finish reacting before it moves past an event.

A free-running clock moves on at ``speed`` whatever the bot is doing, so an order can reach the exchange some ticks
later than a backtest assumes, and a fill can arrive after the next candle was already judged. In lockstep the
exchange waits after every event that sent the bot something (a closed candle, a user-stream event) on the bot's
gate — an awaitable the bot supplies, so the exchange knows nothing of the bot — for at most ``timeout_s`` wall
seconds. The gate is given a function returning what has been :class:`Delivered` so far (what the bot does
meanwhile, such as a stop placed after a fill, sends it more events to handle). A bot that never answers ends the
replay with :class:`LockstepTimeout`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ictbot.data.frame import iso


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the exchange has sent so far: the open time of each symbol's last base candle the clock closed and how many
    user-stream messages went out; and who listens: the market streams subscribed, the user-stream connections (the
    clock's first step waits for the bot to listen)."""

    time: int  # market time of the event just processed (epoch ms)
    closed: dict[str, int]
    user_events: int
    streams: frozenset[str]
    user_connections: int


Gate = Callable[[Callable[[], Delivered]], Awaitable[None]]


class LockstepTimeout(RuntimeError):
    """The bot did not finish reacting to an event in time: the replay cannot go on in lockstep."""


async def wait_for_bot(gate: Gate, delivered: Callable[[], Delivered], timeout_s: float) -> None:
    """Await the bot's gate, at most ``timeout_s`` wall seconds."""
    try:
        await asyncio.wait_for(gate(delivered), timeout_s)
    except TimeoutError:
        sent = delivered()
        raise LockstepTimeout(
            f"lockstep replay stopped at market time {iso(sent.time)}: the bot did not finish reacting to it "
            f"within {timeout_s:g} s (closed candles {sent.closed}, {sent.user_events} user-stream "
            "events sent). Look in the log for a stage that stopped or is stuck, or set replay.lockstep: false to "
            "let the replay's clock run on by itself."
        ) from None
