"""Supervised stages: crashes are logged and restarted with backoff, repeated crashes escalate, nothing is orphaned."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from ictbot.kernel.clock import ManualClock
from ictbot.runtime import (
    RestartPolicy,
    StageContext,
    StageExited,
    StageState,
    Supervisor,
    SupervisorError,
)

from .stages import beating_every, wait_forever

NO_JITTER = RestartPolicy(max_restarts=5, window_s=300, initial_backoff_s=1, multiplier=2, jitter=0)


class FlakyFeed:
    """Crashes on its first ``crashes`` runs, then runs and beats forever."""

    def __init__(self, crashes: int) -> None:
        self.crashes = crashes
        self.runs = 0
        self.run_numbers: list[int] = []

    async def run(self, ctx: StageContext) -> None:
        self.runs += 1
        self.run_numbers.append(ctx.run)
        if self.runs <= self.crashes:
            raise ConnectionError(f"kline stream dropped (run {self.runs})")
        while True:
            ctx.beat()
            await ctx.clock.sleep(5)


def state_of(supervisor: Supervisor, clock: ManualClock, name: str):
    return next(s for s in supervisor.statuses(clock.now_ms()) if s.name == name)


async def test_a_crashing_stage_is_restarted_after_exponential_backoff_and_its_traceback_logged(
    supervisor: Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    feed = FlakyFeed(crashes=2)
    supervisor.add("market-data", feed.run, restart=NO_JITTER)
    with caplog.at_level(logging.WARNING, logger="ictbot.supervisor"):
        await supervisor.start()
        await clock.advance(0)
        assert feed.runs == 1
        assert state_of(supervisor, clock, "market-data").state is StageState.BACKING_OFF

        await clock.advance(0.999)
        assert feed.runs == 1, "restarted before the 1 s backoff elapsed"
        await clock.advance(0.001)
        assert feed.runs == 2

        await clock.advance(1.999)
        assert feed.runs == 2, "the second backoff doubles to 2 s"
        await clock.advance(0.001)
        assert feed.runs == 3

    status = state_of(supervisor, clock, "market-data")
    assert status.state is StageState.RUNNING and status.restarts == 2 and status.alive
    assert feed.run_numbers == [1, 2, 3], "each run is told its number, so a restarted stage can resynchronise"
    assert status.last_error == "ConnectionError: kline stream dropped (run 2)"
    crashes = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(crashes) == 2
    assert "market-data" in crashes[0].getMessage()
    assert crashes[0].exc_info is not None and crashes[0].exc_info[0] is ConnectionError
    assert "Traceback" in caplog.text and "in run" in caplog.text and "kline stream dropped (run 1)" in caplog.text
    assert "restarts in 1.00 s" in caplog.text and "restarts in 2.00 s" in caplog.text


async def test_repeated_crashes_escalate_once_and_the_stage_keeps_restarting_with_capped_backoff(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    escalations: list[tuple[str, BaseException]] = []
    supervisor = Supervisor(clock, on_escalate=lambda name, exc: escalations.append((name, exc)))
    feed = FlakyFeed(crashes=1_000)
    policy = RestartPolicy(max_restarts=2, window_s=60, jitter=0, max_backoff_s=30)
    supervisor.add("market-data", feed.run, restart=policy)
    with caplog.at_level(logging.CRITICAL, logger="ictbot.supervisor"):
        await supervisor.start()
        await clock.advance(2.5)  # crashes at 0, 1 and 3 s: the third is one too many
        await clock.advance(0.5)
    assert feed.runs == 3
    assert [(name, str(exc)) for name, exc in escalations] == [("market-data", "kline stream dropped (run 3)")]
    status = state_of(supervisor, clock, "market-data")
    assert status.state is StageState.FAILED and status.failing and supervisor.failing == ["market-data"]
    assert "crashed 3 times within 60 s; escalating, and still restarting it" in caplog.text

    # An outage of an hour: restarts go on, never more than the 30 s cap apart, and escalation is not repeated.
    runs_before = feed.runs
    await clock.advance(3600)
    assert feed.runs - runs_before >= 3600 // 30
    assert len(escalations) == 1
    await supervisor.stop()
    assert state_of(supervisor, clock, "market-data").state is StageState.STOPPED


async def test_a_failing_stage_recovers_on_its_first_beat_after_a_restart(clock: ManualClock) -> None:
    recovered: list[str] = []
    supervisor = Supervisor(clock, on_recover=recovered.append)
    feed = FlakyFeed(crashes=5)
    supervisor.add("market-data", feed.run, restart=RestartPolicy(max_restarts=2, jitter=0, max_backoff_s=4))
    await supervisor.start()
    await clock.advance(9)  # crashes at 0, 1, 3, 7: failing since the third
    assert supervisor.failing == ["market-data"] and recovered == []
    await clock.advance(30)  # the sixth run beats
    assert feed.runs == 6
    assert supervisor.failing == [] and recovered == ["market-data"]
    status = state_of(supervisor, clock, "market-data")
    assert status.state is StageState.RUNNING and status.alive and not status.failing
    await supervisor.stop()


async def test_backoff_and_the_crash_window_run_on_the_wall_clock_not_the_market_clock(clock: ManualClock) -> None:
    wall = ManualClock(0)
    supervisor = Supervisor(clock, wall=wall)
    feed = FlakyFeed(crashes=1)
    supervisor.add("market-data", feed.run, restart=RestartPolicy(initial_backoff_s=30, jitter=0))
    await supervisor.start()
    await clock.advance(0)
    assert feed.runs == 1
    await clock.advance(3600)  # an hour of replayed market time is no time at all for the backoff
    assert feed.runs == 1 and state_of(supervisor, clock, "market-data").state is StageState.BACKING_OFF
    await wall.advance(29.999)
    assert feed.runs == 1
    await wall.advance(0.001)
    assert feed.runs == 2
    await supervisor.stop()


async def test_a_stream_that_reconnects_after_every_drop_is_never_failing(clock: ManualClock) -> None:
    """Six drops 20 s apart, each followed by a clean reconnect: each run was healthy, so no crash count builds up."""
    escalations: list[str] = []
    runs = 0

    async def drops_after_20_s(ctx: StageContext) -> None:
        nonlocal runs
        runs += 1
        ctx.beat()
        await ctx.clock.sleep(20)
        if runs <= 6:
            raise ConnectionError("websocket closed by the venue")
        await asyncio.Event().wait()

    supervisor = Supervisor(clock, on_escalate=lambda name, exc: escalations.append(name))
    supervisor.add("market-data", drops_after_20_s, restart=RestartPolicy(max_restarts=5, window_s=300, jitter=0))
    await supervisor.start()
    await clock.advance(200)
    assert runs == 7 and escalations == [] and supervisor.failing == []
    assert state_of(supervisor, clock, "market-data").state is StageState.RUNNING
    await supervisor.stop()


async def test_crashes_spread_wider_than_the_window_never_escalate(clock: ManualClock) -> None:
    escalations: list[str] = []
    runs = 0

    async def crashes_after_a_while(ctx: StageContext) -> None:
        nonlocal runs
        runs += 1
        ctx.beat()
        await ctx.clock.sleep(20)
        raise RuntimeError("order sync lost its session")

    supervisor = Supervisor(clock, on_escalate=lambda name, exc: escalations.append(name))
    supervisor.add("order-sync", crashes_after_a_while, restart=RestartPolicy(max_restarts=1, window_s=10, jitter=0))
    await supervisor.start()
    await clock.advance(300)
    await supervisor.stop()
    assert runs > 10 and escalations == []


async def test_a_stage_that_returns_counts_as_a_crash(
    supervisor: Supervisor, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    runs = 0

    async def returns_early(ctx: StageContext) -> None:
        nonlocal runs
        runs += 1

    supervisor.add("strategy:BTCUSDT", returns_early, restart=NO_JITTER)
    with caplog.at_level(logging.ERROR, logger="ictbot.supervisor"):
        await supervisor.start()
        await clock.advance(1)
    assert runs == 2
    assert caplog.records[0].exc_info[0] is StageExited
    assert "must not return" in caplog.text


async def test_a_supervisor_with_no_stages_refuses_to_start(clock: ManualClock) -> None:
    with pytest.raises(SupervisorError, match="no stages registered"):
        await Supervisor(clock).start()


async def test_stage_names_are_unique(supervisor: Supervisor) -> None:
    supervisor.add("recorder", wait_forever)
    with pytest.raises(SupervisorError, match="already registered"):
        supervisor.add("recorder", wait_forever)


async def test_a_stage_added_after_start_runs_at_once(supervisor: Supervisor, clock: ManualClock) -> None:
    supervisor.add("heartbeat", beating_every(5))
    await supervisor.start()
    supervisor.add("strategy:ETHUSDT", beating_every(5))
    await clock.advance(0)
    assert state_of(supervisor, clock, "strategy:ETHUSDT").beaten


async def test_stop_cancels_every_stage_and_leaves_no_task_behind(clock: ManualClock) -> None:
    cleaned_up: list[str] = []

    async def recorder(ctx: StageContext) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)
            cleaned_up.append("recorder")

    async def always_crashes(ctx: StageContext) -> None:
        raise RuntimeError("boom")

    supervisor = Supervisor(clock)
    supervisor.add("market-data", beating_every(1))
    supervisor.add("recorder", recorder)
    supervisor.add("user-data", wait_forever, critical=False)
    supervisor.add("position-monitor", always_crashes, restart=RestartPolicy(initial_backoff_s=30))
    await supervisor.start()
    await clock.advance(2)
    assert len(asyncio.all_tasks()) == 5

    await supervisor.stop()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert cleaned_up == ["recorder"]
    assert {s.state for s in supervisor.statuses(clock.now_ms())} == {StageState.STOPPED}
    assert clock.sleeping == 0


async def test_a_failing_escalation_handler_is_logged_and_the_supervisor_keeps_working(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_handler(name: str, exc: BaseException) -> None:
        raise LookupError("notifier misconfigured")

    async def always_crashes(ctx: StageContext) -> None:
        raise RuntimeError("boom")

    supervisor = Supervisor(clock, on_escalate=broken_handler)
    supervisor.add("execution", always_crashes, restart=RestartPolicy(max_restarts=0))
    supervisor.add("market-data", beating_every(1))
    with caplog.at_level(logging.ERROR, logger="ictbot.supervisor"):
        await supervisor.start()
        await clock.advance(3)
    assert "notifier misconfigured" in caplog.text
    assert state_of(supervisor, clock, "market-data").alive
    await supervisor.stop()
    assert asyncio.all_tasks() == {asyncio.current_task()}


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RestartPolicy(initial_backoff_s=1, multiplier=2, max_backoff_s=10, jitter=0)
    rng = random.Random(0)
    assert [policy.backoff_s(n, rng) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_jitter_spreads_restarts_within_its_fraction() -> None:
    policy = RestartPolicy(initial_backoff_s=4, jitter=0.25)
    rng = random.Random(7)
    delays = [policy.backoff_s(1, rng) for _ in range(200)]
    assert all(3 <= d <= 5 for d in delays)
    assert len(set(delays)) == 200


@pytest.mark.parametrize(
    "arguments", [{"max_restarts": -1}, {"window_s": 0}, {"multiplier": 0.5}, {"jitter": 1.0}, {"jitter": -0.1}]
)
def test_restart_policy_refuses_nonsense(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(**arguments)
