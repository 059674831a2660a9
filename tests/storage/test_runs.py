"""Runs told apart: a replay restarts at the same market date every time, so each run's equity and events are its
own, and events carry the market time beside the wall-clock time."""

from __future__ import annotations

from decimal import Decimal

from ictbot.config import load_settings
from ictbot.storage import EventKind

from .records import T0

MARKET_T0 = 1_746_662_400_000  # 2025-05-08 00:00 UTC, the replayed date; the wall clock is at T0 (2024-01-01)


def replay_run(recorder, market: list[int], equity: list[str]) -> int:
    run_id = recorder.start_run(load_settings(symbols=["BTCUSDT"]), market_clock=lambda: market[0])
    for minute, value in enumerate(equity):
        market[0] = MARKET_T0 + minute * 60_000
        recorder.record_equity(market[0], Decimal(value))
    recorder.stop_run("replay finished")
    return run_id


def test_two_replays_of_the_same_data_keep_their_own_equity_curves(recorder):
    first = replay_run(recorder, [MARKET_T0], ["10000", "10001", "10002.5"])
    second = replay_run(recorder, [MARKET_T0], ["10000", "9999.25", "9998", "9997"])
    assert [e.equity for e in recorder.equity_curve(run_id=first)] == [
        Decimal("10000"),
        Decimal("10001"),
        Decimal("10002.5"),
    ]
    mine = recorder.equity_curve(run_id=second)
    assert [e.equity for e in mine] == [Decimal("10000"), Decimal("9999.25"), Decimal("9998"), Decimal("9997")]
    assert [e.time for e in mine] == [MARKET_T0 + m * 60_000 for m in range(4)]
    assert {e.run_id for e in mine} == {second}


def test_a_run_records_its_symbols_and_the_market_time_it_started_at(recorder, clock):
    run_id = recorder.start_run(load_settings(symbols=["BTCUSDT", "ETHUSDT"]), market_clock=lambda: MARKET_T0)
    [run] = recorder.runs()
    assert (run.id, run.mode, run.symbols) == (run_id, "replay", ["BTCUSDT", "ETHUSDT"])
    assert (run.started_at, run.market_started_at) == (T0, MARKET_T0)


def test_the_newest_points_of_a_curve_come_oldest_first_and_page_back(recorder):
    run_id = replay_run(recorder, [MARKET_T0], [str(10_000 + i) for i in range(25)])
    newest = recorder.equity_curve(run_id=run_id, limit=10, newest=True)
    assert [e.equity for e in newest] == [Decimal(10_015 + i) for i in range(10)]
    before = recorder.equity_curve(run_id=run_id, end=newest[0].time - 1, limit=10, newest=True)
    assert [e.equity for e in before] == [Decimal(10_005 + i) for i in range(10)]


def test_events_carry_the_market_time_beside_the_wall_clock_time(recorder, clock):
    market = [MARKET_T0]
    run_id = recorder.start_run(load_settings(), market_clock=lambda: market[0])
    market[0] += 3 * 3_600_000  # three replayed hours in
    clock.now += 180_000  # three wall-clock minutes
    recorder.record_event(EventKind.CONTROL, "pause", source="api:127.0.0.1")
    [event] = recorder.events(kind=EventKind.CONTROL, run_id=run_id)
    assert (event.time, event.market_time) == (T0 + 180_000, MARKET_T0 + 3 * 3_600_000)


def test_without_a_market_clock_the_market_time_is_the_wall_clock(recorder, clock):
    recorder.start_run(load_settings(mode="paper"))
    recorder.record_event(EventKind.STARTUP, "paper")
    [event] = recorder.events()
    assert event.time == event.market_time == T0
