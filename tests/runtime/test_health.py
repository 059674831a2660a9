"""Readiness: false whenever the bot could be idle — stale stream, dead or silent stage, venue down, not reconciled."""

from __future__ import annotations

import json
import logging

import pytest

from ictbot.domain import Timeframe
from ictbot.kernel.clock import ManualClock
from ictbot.runtime import (
    Health,
    HeartbeatMonitor,
    Readiness,
    RestartPolicy,
    StageContext,
    Supervisor,
)

from .stages import START_MS, Feed, beating_every, wait_forever

MINUTE_S = 60
BTC_1M = ("BTCUSDT", Timeframe.M1)
ETH_5M = ("ETHUSDT", Timeframe.M5)


def check(readiness: Readiness, name: str):
    return next(c for c in readiness.checks if c.name == name)


@pytest.fixture
async def running(supervisor: Supervisor, clock: ManualClock) -> Health:
    """A started bot with one critical stage beating, a reachable venue and reconciliation done; no candles yet."""
    supervisor.add("execution", beating_every(5))
    await supervisor.start()
    await clock.advance(0)
    health = Health(supervisor, [BTC_1M, ETH_5M])
    health.mark_venue_ok(clock.now_ms())
    health.mark_reconciled(clock.now_ms())
    return health


def mark_fresh(health: Health, now_ms: int) -> None:
    """The newest closed candle of each stream, just after it closed."""
    health.mark_candle("BTCUSDT", Timeframe.M1, now_ms - Timeframe.M1.ms, now_ms)
    health.mark_candle("ETHUSDT", Timeframe.M5, now_ms - Timeframe.M5.ms, now_ms)


async def test_a_working_bot_is_ready_and_its_readiness_is_json(running: Health, clock: ManualClock) -> None:
    mark_fresh(running, clock.now_ms())
    readiness = running.readiness(clock.now_ms())
    assert readiness.ready, readiness.failing
    body = json.loads(json.dumps(readiness.to_dict()))
    assert [c["name"] for c in body["checks"]] == [
        "stream:BTCUSDT:1m",
        "stream:ETHUSDT:5m",
        "stage:execution",
        "venue",
        "reconciliation",
    ]
    assert body["ready"] is True and body["checked_at_ms"] == clock.now_ms()
    assert all({"ok", "age_seconds", "detail"} <= set(c) for c in body["checks"])


async def test_a_stream_is_stale_exactly_when_its_newest_close_is_older_than_two_timeframes(running: Health) -> None:
    opened = START_MS
    closed = opened + Timeframe.M1.ms
    running.mark_candle("BTCUSDT", Timeframe.M1, opened, closed)

    at_limit = check(running.readiness(closed + 2 * Timeframe.M1.ms), "stream:BTCUSDT:1m")
    assert at_limit.ok and at_limit.age_seconds == 120
    past_limit = check(running.readiness(closed + 2 * Timeframe.M1.ms + 1), "stream:BTCUSDT:1m")
    assert not past_limit.ok and "limit 120 s" in past_limit.detail


async def test_a_stream_without_any_candle_is_not_ready(running: Health, clock: ManualClock) -> None:
    readiness = running.readiness(clock.now_ms())
    assert not readiness.ready
    assert check(readiness, "stream:ETHUSDT:5m").detail == "no closed candle received yet"


async def test_an_older_or_repeated_candle_does_not_refresh_a_stream(running: Health) -> None:
    running.mark_candle("BTCUSDT", Timeframe.M1, START_MS, START_MS + 60_000)
    running.mark_candle("BTCUSDT", Timeframe.M1, START_MS - 600_000, START_MS + 400_000)
    assert running.stream_ages(START_MS + 400_000)[BTC_1M] == 340


async def test_a_candle_of_an_unsubscribed_stream_is_refused(running: Health) -> None:
    with pytest.raises(ValueError, match=r"SOLUSDT:1m is not a subscribed stream \(subscribed: BTCUSDT:1m, ETHUSDT:5m"):
        running.mark_candle("SOLUSDT", Timeframe.M1, START_MS, START_MS)


async def test_a_stalled_stream_turns_readiness_false_within_two_timeframes_and_back_after_a_fresh_candle(
    supervisor: Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    health = Health(supervisor, [BTC_1M])
    health.mark_reconciled(clock.now_ms())
    changes: list[tuple[bool, tuple[str, ...], int]] = []
    health.add_listener(lambda now, before: changes.append((now.ready, now.failing, now.checked_at_ms)))
    feed = Feed(health, ["BTCUSDT"])
    supervisor.add("market-data", feed.run)
    supervisor.add("heartbeat", HeartbeatMonitor(health, supervisor.counters).run)
    await supervisor.start()

    await clock.advance(3 * MINUTE_S)
    assert changes[-1][0] is True, "ready once the first closed candle arrived"
    changes.clear()

    feed.stalled = True
    last_close_ms = feed.last_close_ms
    with caplog.at_level(logging.WARNING, logger="ictbot.health"):
        await clock.advance(10 * MINUTE_S)
    assert len(changes) == 1
    ready, failing, at_ms = changes[0]
    assert not ready and failing == ("stream:BTCUSDT:1m",)
    limit_ms = 2 * Timeframe.M1.ms
    assert last_close_ms + limit_ms < at_ms <= last_close_ms + limit_ms + 5_000, (
        "flagged at the first check past 2 × tf"
    )
    first_missing_close_ms = last_close_ms + Timeframe.M1.ms
    assert at_ms - first_missing_close_ms <= limit_ms, "flagged within 2 × tf of the first missing candle"
    assert "not ready: stream:BTCUSDT:1m" in caplog.text

    feed.stalled = False
    await clock.advance(MINUTE_S)
    assert changes[-1][0] is True
    assert changes[-1][2] - feed.last_close_ms <= 1_000 + 5_000, "ready again at the first check after the fresh candle"


async def test_a_stage_that_stops_beating_turns_readiness_false(supervisor: Supervisor, clock: ManualClock) -> None:
    beats = 0

    async def hangs_after_three_beats(ctx: StageContext) -> None:
        nonlocal beats
        while beats < 3:
            beats += 1
            ctx.beat()
            await ctx.clock.sleep(10)
        await wait_forever(ctx)

    supervisor.add("order-sync", hangs_after_three_beats, beat_timeout_s=30)
    supervisor.add("recorder", wait_forever, beat_timeout_s=30)
    await supervisor.start()
    health = Health(supervisor, [])

    await clock.advance(30)
    assert check(health.readiness(clock.now_ms()), "stage:order-sync").ok
    assert check(health.readiness(clock.now_ms()), "stage:recorder").ok, "within its first deadline"

    await clock.advance(30.001)
    readiness = health.readiness(clock.now_ms())
    silent = check(readiness, "stage:order-sync")
    assert not silent.ok and silent.detail.startswith("stopped beating") and silent.age_seconds == 40.001
    never = check(readiness, "stage:recorder")
    assert not never.ok and never.detail.startswith("no beat since it started")


async def test_a_dead_critical_stage_turns_readiness_false_but_a_non_critical_one_does_not(
    supervisor: Supervisor, clock: ManualClock
) -> None:
    async def crashes(ctx: StageContext) -> None:
        raise RuntimeError("listen key expired")

    supervisor.add("execution", crashes, restart=RestartPolicy(max_restarts=1, initial_backoff_s=5, jitter=0))
    supervisor.add("notifier", crashes, critical=False, restart=RestartPolicy(max_restarts=0))
    await supervisor.start()
    health = Health(supervisor, [])

    await clock.advance(1)
    backing_off = check(health.readiness(clock.now_ms()), "stage:execution")
    assert not backing_off.ok and backing_off.detail == "backing_off; last error: RuntimeError: listen key expired"

    await clock.advance(10)
    readiness = health.readiness(clock.now_ms())
    failed = check(readiness, "stage:execution")
    assert not failed.ok and failed.detail.startswith("keeps crashing, restarted 1 times; last error: RuntimeError")
    notifier = check(readiness, "stage:notifier")
    assert not notifier.ok and not notifier.required and "keeps crashing" in notifier.detail
    assert "stage:execution" in readiness.failing and "stage:notifier" not in readiness.failing
    assert readiness.degraded == ("stage:notifier",)
    assert readiness.to_dict()["degraded"] == ["stage:notifier"]


async def test_a_crashing_non_critical_stage_is_reported_but_keeps_the_bot_ready(
    supervisor: Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def crashes(ctx: StageContext) -> None:
        raise OSError("address already in use")

    supervisor.add("venue-check", beating_every(1), beat_timeout_s=5)
    supervisor.add("api", crashes, critical=False, restart=RestartPolicy(max_restarts=2, jitter=0))
    await supervisor.start()
    health = Health(supervisor, [])
    with caplog.at_level(logging.ERROR, logger="ictbot.health"):
        await clock.advance(60)
        readiness = health.evaluate(clock.now_ms())
    assert readiness.degraded == ("stage:api",)
    assert "stage:api" not in readiness.failing
    assert check(readiness, "stage:venue-check").ok
    assert "degraded (trading goes on): stage:api: keeps crashing" in caplog.text


async def test_an_unreachable_venue_is_not_ready_until_a_call_succeeds_again(
    running: Health, clock: ManualClock
) -> None:
    now = clock.now_ms()
    mark_fresh(running, now)
    running.mark_venue_error(now + 1000, "503 Service Unavailable")
    venue = check(running.readiness(now + 1000), "venue")
    assert not venue.ok and venue.detail == "unreachable: 503 Service Unavailable"

    running.mark_venue_ok(now + 2000)
    assert running.readiness(now + 2000).ready


async def test_a_venue_silent_for_longer_than_its_timeout_is_not_ready(supervisor: Supervisor) -> None:
    health = Health(supervisor, [], venue_timeout_s=60)
    assert check(health.readiness(START_MS), "venue").detail == "no successful venue call yet"
    health.mark_venue_ok(START_MS)
    assert check(health.readiness(START_MS + 60_000), "venue").ok
    assert not check(health.readiness(START_MS + 60_001), "venue").ok


async def test_an_unreconciled_bot_is_not_ready(supervisor: Supervisor) -> None:
    assert not check(Health(supervisor, []).readiness(START_MS), "reconciliation").ok


async def test_no_streams_and_no_stages_are_failing_checks_not_an_empty_pass(supervisor: Supervisor) -> None:
    health = Health(supervisor, [])
    health.mark_venue_ok(START_MS)
    health.mark_reconciled(START_MS)
    readiness = health.readiness(START_MS)
    assert not readiness.ready
    assert readiness.failing == ("streams", "stages")


async def test_readiness_changes_are_reported_once_each_and_a_failing_listener_is_only_logged(
    running: Health, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[tuple[bool, bool | None]] = []

    def broken(now: Readiness, before: Readiness | None) -> None:
        raise ConnectionError("telegram down")

    running.add_listener(broken)
    running.add_listener(lambda now, before: reports.append((now.ready, None if before is None else before.ready)))
    with caplog.at_level(logging.INFO, logger="ictbot.health"):
        running.evaluate(clock.now_ms())
        running.evaluate(clock.now_ms())
        mark_fresh(running, clock.now_ms())
        running.evaluate(clock.now_ms())
        running.evaluate(clock.now_ms())
    assert reports == [(False, None), (True, False)]
    assert "telegram down" in caplog.text
