"""The heartbeat line: one a minute, by the clock, saying what flowed — and it keeps coming when nothing flows."""

from __future__ import annotations

import logging

import pytest

from ictbot.domain import Timeframe
from ictbot.kernel.clock import ManualClock
from ictbot.runtime import Counters, Health, HeartbeatLine, HeartbeatMonitor, StageContext, Supervisor

from .stages import Feed

MINUTE_S = 60


def heartbeats(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ictbot.heartbeat"]


async def start_bot(supervisor: Supervisor, clock: ManualClock, symbols: list[str]) -> Health:
    health = Health(supervisor, [(symbol, Timeframe.M1) for symbol in symbols])
    health.mark_reconciled(clock.now_ms())
    supervisor.add("market-data", Feed(health, symbols).run)
    supervisor.add("heartbeat", HeartbeatMonitor(health, supervisor.counters).run)
    await supervisor.start()
    return health


async def test_one_heartbeat_line_a_minute_with_the_counts_since_the_previous_line(
    supervisor: Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def trader(ctx: StageContext) -> None:
        """Two signals, one rejected, one ordered and filled, 90 s in (in the second minute)."""
        for _ in range(9):
            ctx.beat()
            await ctx.clock.sleep(10)
        ctx.counters.signal(2)
        ctx.counters.rejection("symbol_busy")
        ctx.counters.order()
        ctx.counters.fill()
        while True:
            ctx.beat()
            await ctx.clock.sleep(10)

    supervisor.add("strategy", trader)
    with caplog.at_level(logging.INFO, logger="ictbot.heartbeat"):
        await start_bot(supervisor, clock, ["BTCUSDT", "ETHUSDT"])
        await clock.advance(MINUTE_S - 0.001)
        assert heartbeats(caplog) == []
        await clock.advance(0.001)
        assert len(heartbeats(caplog)) == 1
        await clock.advance(MINUTE_S)

    first, second = heartbeats(caplog)
    assert first.heartbeat == {
        "ready": False,
        "failing": ["stream:BTCUSDT:1m", "stream:ETHUSDT:1m", "venue"],
        "degraded": [],
        "candles": {"BTCUSDT:1m": 0, "ETHUSDT:1m": 0},
        "signals": 0,
        "orders": 0,
        "fills": 0,
        "rejections": 0,
        "newest_candle_age_s": {"BTCUSDT:1m": None, "ETHUSDT:1m": None},
    }
    assert second.heartbeat == {
        "ready": True,
        "failing": [],
        "degraded": [],
        "candles": {"BTCUSDT:1m": 1, "ETHUSDT:1m": 1},
        "signals": 2,
        "orders": 1,
        "fills": 1,
        "rejections": 1,
        "newest_candle_age_s": {"BTCUSDT:1m": 60.0, "ETHUSDT:1m": 60.0},
    }
    assert second.getMessage() == (
        "heartbeat ready=yes failing=- candles=BTCUSDT:1m=1,ETHUSDT:1m=1 signals=2 orders=1 fills=1 "
        "rejections=1 newest_age=BTCUSDT:1m=60s,ETHUSDT:1m=60s"
    )


async def test_the_heartbeat_never_goes_quiet_while_nothing_flows(
    supervisor: Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    health = Health(supervisor, [("BTCUSDT", Timeframe.M1)])
    supervisor.add("heartbeat", HeartbeatMonitor(health, supervisor.counters).run)
    with caplog.at_level(logging.INFO, logger="ictbot.heartbeat"):
        await supervisor.start()
        await clock.advance(10 * MINUTE_S)
    lines = heartbeats(caplog)
    assert len(lines) == 10
    assert all(line.heartbeat["candles"] == {"BTCUSDT:1m": 0} and not line.heartbeat["ready"] for line in lines)
    assert "ready=no failing=stream:BTCUSDT:1m,venue,reconciliation candles=BTCUSDT:1m=0" in lines[-1].getMessage()


async def test_totals_keep_growing_across_heartbeat_lines(supervisor: Supervisor, clock: ManualClock) -> None:
    await start_bot(supervisor, clock, ["BTCUSDT"])
    await clock.advance(5 * MINUTE_S)
    totals = supervisor.counters.totals()
    assert totals.candles == {("BTCUSDT", Timeframe.M1): 4}, "candles closing at minutes 1 to 4 arrived"
    assert supervisor.counters.take_interval().candles == {}, "the heartbeat already took the interval counts"


def test_candles_of_streams_outside_readiness_still_appear_in_the_line() -> None:
    counters = Counters()
    counters.candle("BTCUSDT", Timeframe.M5, 3)
    line = HeartbeatLine.build(
        counters.take_interval(),
        {("BTCUSDT", Timeframe.M1): 12.0},
        readiness=Health(Supervisor(ManualClock()), []).readiness(0),
    )
    assert line.candles == {"BTCUSDT:1m": 0, "BTCUSDT:5m": 3}
    assert "candles=BTCUSDT:1m=0,BTCUSDT:5m=3" in line.text()
    assert "newest_age=BTCUSDT:1m=12s" in line.text()


async def test_a_replay_heartbeat_says_how_far_the_replay_has_got_and_when_it_ends(
    supervisor: Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    health = Health(supervisor, [("BTCUSDT", Timeframe.M1)])
    progress = {"market_time": "2025-05-04T21:00:00Z", "progress_pct": 12.34, "eta_seconds": 3725.0, "speed": 60.0}
    monitor = HeartbeatMonitor(health, supervisor.counters, progress=lambda: progress)
    supervisor.add("heartbeat", monitor.run)
    with caplog.at_level(logging.INFO, logger="ictbot.heartbeat"):
        await supervisor.start()
        await clock.advance(MINUTE_S)
    [line] = heartbeats(caplog)
    assert line.getMessage().endswith(" progress=12.3% market=2025-05-04T21:00:00Z eta=1h02m")
    assert line.heartbeat["replay"] == progress
