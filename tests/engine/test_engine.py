"""The live engine on the local exchange over real HTTP and WebSocket (ccxt), with a real SQLite database."""

import asyncio
import logging
import re
import sqlite3
from contextlib import closing
from dataclasses import astuple

import pytest

from helpers import running, until
from ictbot.api.serialize import closed_trade, trade_dict
from ictbot.backtest.runner import run_backtest_stepwise
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.domain import Side, client_order_id
from ictbot.errors import ConfigError
from ictbot.runtime import RestartPolicy
from ictbot.runtime.engine import Engine
from ictbot.storage import open_recorder


@pytest.fixture
def btc_days(data_dir, tmp_path):
    """Five days of real BTCUSDT 1m candles as a replay file."""
    frame = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, 5 * 1440)
    path = tmp_path / "BTCUSDT-1m-5days.parquet"
    write_parquet(frame, path)
    return load_candles(path, symbol="BTCUSDT"), path


def _settings(path, tmp_path, speed=60_000, stop_at_end=True, **extra):
    """The simulated account (the backtest's fill model, for parity) and no HTTP API, unless a test says otherwise."""
    return load_settings(
        replay={"speed": speed, "warmup": 1, "data": [str(path)], "stop_at_end": stop_at_end},
        strategy={"name": "fvg_retrace"},
        data_dir=str(tmp_path / "data"),
        **{"execution": {"broker": "simulated"}, "api": {"enabled": False}, **extra},
    )


async def test_replay_through_ccxt_makes_the_backtests_trades_and_records_them(btc_days, tmp_path):
    """Parity: the same candles through the live path (exchange, WebSocket, ccxt) and the backtest give the same
    signals, fills and trades; the database holds exactly what happened."""
    frame, path = btc_days
    settings = _settings(path, tmp_path)
    recorder = open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    engine = build_engine(settings, recorder)
    async with running(engine):
        last = int(frame.open_time[-1])
        await until(lambda: engine.pipeline.book.last_open_time("BTCUSDT") == last)
    backtest = run_backtest_stepwise(settings, [frame])
    assert backtest.trades, "the window must contain trades for the comparison to mean something"
    signals = recorder.signals(limit=1000)
    assert sorted(s.key for s in signals) == sorted(client_order_id(s) for s in backtest.signals)
    assert {s.key for s in signals if s.decision.accepted} == set(backtest.intents)
    entries = {o.client_order_id for o in recorder.orders(limit=1000) if o.intent.purpose == "entry"}
    assert entries == set(backtest.intents)
    # An exit's fill is recorded under its own order, named after the entry's: ``<entry id>-<reason>``.
    fills = [
        (f.client_order_id.removesuffix(f"-{f.reason}"), f.symbol, Side(f.side), f.quantity, f.price, f.fee, f.time,
         f.is_maker, f.reason)
        for f in reversed(recorder.fills(limit=1000))
    ]  # fmt: skip
    assert fills == [astuple(f) for f in backtest.portfolio.fills]
    recorded_trades = [trade_dict(closed_trade(t)) for t in reversed(recorder.trades(limit=1000))]
    assert recorded_trades == [trade_dict(t) for t in backtest.trades]
    assert engine.latencies, "every accepted signal's latency is measured"
    assert not engine.pipeline.signals and not engine.pipeline.portfolio.fills, "a running bot keeps no history"
    runs = recorder.runs()
    assert runs[0].stopped_at is not None


async def test_the_run_is_on_disk_before_the_first_candle_is_replayed(btc_days, tmp_path):
    """A bot killed right after it started still has its run in the database: the run is committed before the
    market source starts."""
    _, path = btc_days
    database = tmp_path / "bot.sqlite"
    engine = build_engine(_settings(path, tmp_path), open_recorder(f"sqlite:///{database}"))
    runs_on_disk = []
    start = engine.source.start

    def start_counting_runs() -> None:
        with closing(sqlite3.connect(database)) as db:  # its own connection: sees only what is committed
            runs_on_disk.append(db.execute("SELECT count(*) FROM runs").fetchone()[0])
        start()

    engine.source.start = start_counting_runs
    async with running(engine):
        pass
    assert runs_on_disk == [1]


async def test_stalled_stream_makes_readiness_false_and_a_recovered_stream_true(btc_days, tmp_path, caplog):
    _, path = btc_days
    engine = build_engine(_settings(path, tmp_path, speed=600))
    caplog.set_level(logging.INFO)
    async with running(engine):
        await until(lambda: engine.health.readiness(engine.clock.now_ms()).ready, 30)
        engine.exchange.stall_websockets(True)
        await until(lambda: not engine.health.readiness(engine.clock.now_ms()).ready, 30)
        failing = engine.health.readiness(engine.clock.now_ms()).failing
        assert "stream:BTCUSDT:1m" in failing
        await until(lambda: "not ready" in caplog.text and "stream:BTCUSDT:1m" in caplog.text, 10)
        missed_from = engine.pipeline.book.last_open_time("BTCUSDT")
        backfills = _spy_on_backfills(engine)
        engine.exchange.stall_websockets(False)
        await until(lambda: engine.health.readiness(engine.clock.now_ms()).ready, 30)
        # Candles that closed while the stream was stalled were fetched by REST: none missed, none twice.
        assert engine.pipeline.book.gap_count("BTCUSDT") == (0, 0)
        assert engine.pipeline.book.last_open_time("BTCUSDT") > missed_from
    assert "recovered by REST" in caplog.text
    # Each backfill asks for just the candles it misses, from the first of them: a klines request weighs by its limit.
    missed = [int(n) for n in re.findall(r"BTCUSDT: (\d+) candle\(s\) missed", caplog.text)]
    assert backfills and backfills[0][0] == missed_from + 60_000
    assert [limit for _, limit in backfills] == missed[-len(backfills) :]


def _spy_on_backfills(engine: Engine) -> list[tuple[int, int]]:
    """(since, limit) of every REST candle request from now on."""
    calls: list[tuple[int, int]] = []
    fetch = engine.market.closed_candles

    async def recorded(symbol, timeframe, since, limit):
        calls.append((since, limit))
        return await fetch(symbol, timeframe, since, limit)

    engine.market.closed_candles = recorded
    return calls


async def test_unreachable_venue_makes_readiness_false(btc_days, tmp_path):
    _, path = btc_days
    engine = build_engine(_settings(path, tmp_path, speed=600))
    async with running(engine):
        engine.exchange.fail_requests(count=10_000, status=503)
        await until(lambda: "venue" in engine.health.readiness(engine.clock.now_ms()).failing, 40)


async def test_a_stage_that_keeps_crashing_halts_trading_until_it_runs_again(btc_days, tmp_path, caplog):
    _, path = btc_days
    quick = RestartPolicy(max_restarts=3, window_s=600, initial_backoff_s=0.05, max_backoff_s=0.2)  # wall seconds
    engine = build_engine(_settings(path, tmp_path, speed=600), restart=quick)
    caplog.set_level(logging.INFO)
    async with running(engine):
        await until(lambda: engine.health.readiness(engine.clock.now_ms()).ready, 30)
        crashes = 0

        def broken(symbol, candle):
            nonlocal crashes
            crashes += 1
            raise RuntimeError("strategy bug")

        engine.pipeline.on_base_candle = broken
        await until(lambda: "stage:pipeline" in engine.health.readiness(engine.clock.now_ms()).failing, 30)
        await until(lambda: engine.pipeline.gate.state.value == "HALTED", 60)
        del engine.pipeline.on_base_candle  # the bug is gone: the restarted stage runs, and trading resumes by itself
        await until(lambda: engine.pipeline.gate.state.value == "ACTIVE", 60)
    assert crashes > 1
    assert "strategy bug" in caplog.text and "Traceback" in caplog.text
    assert "trading HALTED: stage pipeline keeps crashing" in caplog.text


async def test_configuration_the_venue_cannot_serve_stops_startup(btc_days, tmp_path, data_dir):
    _, path = btc_days
    with pytest.raises(ConfigError, match=r"symbols: ETHUSDT not traded on the venue"):
        await asyncio.wait_for(build_engine(_settings(path, tmp_path, symbols=["ETHUSDT"])).run(asyncio.Event()), 60)
    # One SOL (the minimum quantity) cost ~145 USDT, more than a 40 × 3 = 120 USDT cap: only the venue's price shows it.
    sol_file = data_dir / "SOL_USDT_USDT-1m-futures.feather"
    sol = _settings(sol_file, tmp_path, symbols=["SOLUSDT"], risk={"max_position_margin_usdt": 40})
    with pytest.raises(ConfigError, match=r"cannot buy the smallest SOLUSDT order .* raise the margin or leverage"):
        await asyncio.wait_for(build_engine(sol).run(asyncio.Event()), 60)
    with pytest.raises(ConfigError, match="mode: live needs API keys"):
        build_engine(load_settings(mode="live"))
    keys = {"api_key": "key", "api_secret": "secret"}
    with pytest.raises(ConfigError, match=r"real money on Binance; set live.confirm: true"):
        build_engine(load_settings(mode="live", venue={"testnet": False, **keys}))
    with pytest.raises(ConfigError, match="orders on the venue are recorded before they are sent"):
        build_engine(load_settings(mode="live", venue={"testnet": True, **keys}))


async def test_replay_stops_by_itself_once_every_candle_is_traded(btc_days, tmp_path, caplog):
    frame, path = btc_days
    caplog.set_level(logging.INFO)
    engine = build_engine(_settings(path, tmp_path, speed=200_000))
    await asyncio.wait_for(engine.run(asyncio.Event()), 120)
    assert engine.pipeline.book.last_open_time("BTCUSDT") == int(frame.open_time[-1])
    assert "replay finished" in caplog.text and "stopped cleanly" in caplog.text
    assert "replay-end" in {st.name for st in engine.supervisor.statuses(engine.clock.now_ms())}


async def test_replay_with_stop_at_end_off_keeps_the_bot_running_after_the_last_candle(btc_days, tmp_path):
    frame, path = btc_days
    engine, stop = build_engine(_settings(path, tmp_path, speed=200_000, stop_at_end=False)), asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    try:
        await until(lambda: engine.ready.is_set() and engine.exchange.replay.finished)
        await until(lambda: engine.pipeline.book.last_open_time("BTCUSDT") == int(frame.open_time[-1]))
        # What stops a replay by itself is its end stage, composed only with stop_at_end: none runs here.
        stages = {st.name for st in engine.supervisor.statuses(engine.clock.now_ms())}
        assert "replay-end" not in stages and {"market-data", "pipeline", "heartbeat"} <= stages
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_replays_market_clock_is_the_replayed_time(btc_days, tmp_path):
    """The composition gives the engine the replay's clock: stages, readiness and records read history's time, not
    today's, and it moves with the replay."""
    frame, path = btc_days
    engine = build_engine(_settings(path, tmp_path, speed=200_000, stop_at_end=False))
    async with running(engine):
        first, last = int(frame.open_time[0]), int(frame.open_time[-1])
        assert first <= engine.started_ms <= last
        await until(lambda: engine.exchange.replay.finished)
        assert engine.clock.now_ms() == int(engine.exchange.replay.now)
        assert last < engine.clock.now_ms() <= last + 2 * 60_000, "the replay's end: one minute past the last open"


async def test_the_replays_test_account_starts_with_the_backtests_initial_equity(btc_days, tmp_path):
    """One setting funds both: the local exchange's test account in replay and the backtest's account."""
    _, path = btc_days
    settings = _settings(path, tmp_path, backtest={"initial_equity_usdt": 2500}, execution={"broker": "venue"})
    engine = build_engine(settings, open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}"))
    async with running(engine):
        assert engine.exchange.engine.wallet == 2500
        assert engine.pipeline.equity() == 2500
