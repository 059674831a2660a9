"""A bot that heals: after an outage of any length, after WebSocket drops, with a broken API. The bot trades on the
local exchange (real HTTP and WebSocket) in replay; restart backoff runs on a ManualClock standing for the wall
clock, so a twenty-minute outage takes no twenty minutes here."""

import contextlib
import gc
import logging
import socket

import httpx
import pytest
import uvicorn
from aiohttp import web

from helpers import running, until
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.kernel.clock import ManualClock
from ictbot.risk.gate import TradingState
from ictbot.runtime import RestartPolicy, StageState
from ictbot.storage import open_recorder

#: The default cap on restart backoff, with its 10 % jitter: a stage restarts this soon after the venue is back.
CAPPED_BACKOFF_S = 30 * 1.1


@pytest.fixture
def replay_file(data_dir, tmp_path):
    frame = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, 5 * 1440)
    path = tmp_path / "BTCUSDT-1m-5days.parquet"
    write_parquet(frame, path)
    return path


def _settings(path, tmp_path, **extra):
    return load_settings(
        replay={"speed": 600, "warmup": 300, "data": [str(path)], "stop_at_end": False},
        data_dir=str(tmp_path / "data"),
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite'}",
        **{"api": {"port": 0}, **extra},
    )


def _stage(engine, name):
    return next(s for s in engine.supervisor.statuses(engine.clock.now_ms()) if s.name == name)


def _backing_off(engine, name, restarts) -> bool:
    """Stage ``name`` crashed after its ``restarts``-th restart and now waits out its backoff on the wall clock."""
    stage = _stage(engine, name)
    return stage.restarts == restarts and stage.state in (StageState.BACKING_OFF, StageState.FAILED)


def _ready(engine) -> bool:
    return engine.health.readiness(engine.clock.now_ms()).ready


async def test_after_an_outage_of_any_length_market_data_resumes_and_trading_only_then(replay_file, tmp_path):
    wall = ManualClock(0)
    engine = build_engine(
        _settings(replay_file, tmp_path), open_recorder(f"sqlite:///{tmp_path / 'bot.sqlite'}"), wall=wall
    )
    async with running(engine):
        await until(lambda: _ready(engine) and engine.api_url is not None)
        exchange = engine.exchange
        await exchange.stop()  # the venue is gone: every connection refused
        # Twenty minutes of outage on the wall clock the backoff runs on, moved only while market data waits out its
        # backoff: each minute ends a backoff (at most the capped 33 s), and the restart after it is refused again.
        for _ in range(20):
            restarts = _stage(engine, "market-data").restarts
            await until(lambda r=restarts: _backing_off(engine, "market-data", r))
            await wall.advance(60)
            await until(lambda r=restarts: _stage(engine, "market-data").restarts > r)
        await until(lambda: _stage(engine, "market-data").state is StageState.FAILED)
        assert "market-data" in engine.failing_critical_stages()
        assert engine.pipeline.gate.state is TradingState.HALTED
        async with httpx.AsyncClient(base_url=engine.api_url, timeout=10) as http:
            health = await http.get("/health")
        assert health.status_code == 503
        assert health.json()["alive"] is False and "market-data" in health.json()["failed_stages"]

        await exchange.start()  # the venue is back, on the same port
        exchange.start_clock(600)
        # A reconciliation that succeeds while market data is still down must not let trading resume.
        assert await engine.execution.reconciler.reconcile(apply_fills=True)
        assert engine.pipeline.gate.state is TradingState.HALTED

        await wall.advance(CAPPED_BACKOFF_S)  # within a minute of the venue coming back
        await until(
            lambda: _stage(engine, "market-data").state is StageState.RUNNING and not engine.failing_critical_stages()
        )
        newest = engine.pipeline.book.last_open_time("BTCUSDT")
        await until(lambda: engine.pipeline.book.last_open_time("BTCUSDT") > newest)
        await until(lambda: _ready(engine))
        assert engine.pipeline.gate.state is TradingState.ACTIVE
        async with httpx.AsyncClient(base_url=engine.api_url, timeout=10) as http:
            health = await http.get("/health")
        assert health.status_code == 200 and health.json()["alive"] is True


async def test_six_websocket_drops_20_s_apart_never_fail_market_data_nor_halt_trading(replay_file, tmp_path):
    wall = ManualClock(0)
    settings = _settings(replay_file, tmp_path, api={"enabled": False})
    engine = build_engine(settings, open_recorder(settings.database_url), wall=wall)  # the default restart policy
    async with running(engine):
        await until(lambda: _ready(engine))
        for drop in range(6):
            restarts = _stage(engine, "market-data").restarts
            await until(lambda: _stage(engine, "market-data").beaten)
            await wall.advance(20)
            assert engine.exchange.drop_websockets() > 0
            await until(lambda: _stage(engine, "market-data").state is StageState.BACKING_OFF)
            await wall.advance(1.1)  # the first backoff: each drop is a first crash after a healthy run
            await until(lambda r=restarts: _stage(engine, "market-data").restarts == r + 1)
            assert engine.failing_critical_stages() == [], f"market data called failing after drop {drop + 1}"
            assert engine.pipeline.gate.state is TradingState.ACTIVE
        newest = engine.pipeline.book.last_open_time("BTCUSDT")
        await until(lambda: engine.pipeline.book.last_open_time("BTCUSDT") > newest)
        await until(lambda: _ready(engine))
        assert engine.pipeline.book.gap_count("BTCUSDT") == (0, 0)


def _uvicorn_servers() -> list[uvicorn.Server]:
    return [o for o in gc.get_objects() if isinstance(o, uvicorn.Server) and not o.should_exit]


@contextlib.asynccontextmanager
async def _webhook():
    """A local webhook receiver; yields (url, bodies received)."""
    bodies: list[dict] = []

    async def handle(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", bodies
    finally:
        await runner.cleanup()


async def test_an_api_that_keeps_crashing_is_reported_and_trading_goes_on(replay_file, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    wall = ManualClock(0)
    policy = RestartPolicy(max_restarts=2, jitter=0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with _webhook() as (hook_url, bodies):
        settings = _settings(
            replay_file, tmp_path, api={"port": port}, notify={"webhook_url": hook_url, "events": ["readiness"]}
        )
        engine = build_engine(settings, open_recorder(settings.database_url), restart=policy, wall=wall)
        async with running(engine):
            await until(lambda: _ready(engine) and engine.api_url is not None)
            [server] = _uvicorn_servers()
            taken = socket.socket()
            server.should_exit = True  # the API stops; its restarts find the port taken by another program
            await until(lambda: _stage(engine, "api").state is StageState.BACKING_OFF)
            taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            taken.bind(("127.0.0.1", port))
            taken.listen()
            try:
                # Time moves only while the stage waits out its backoff: moving it during a run would make that run
                # last long enough to count as healthy and restart the crash count.
                for _ in range(policy.max_restarts + 1):
                    restarts = _stage(engine, "api").restarts
                    await until(lambda r=restarts: _backing_off(engine, "api", r))
                    if _stage(engine, "api").failing:
                        break
                    await wall.advance(policy.initial_backoff_s * policy.multiplier**policy.max_restarts)
                    await until(lambda r=restarts: _stage(engine, "api").restarts > r)
                assert _stage(engine, "api").failing
                await until(lambda: "stage:api" in engine.health.readiness(engine.clock.now_ms()).degraded)
                readiness = engine.health.readiness(engine.clock.now_ms())
                assert readiness.ready and "stage:api" not in readiness.failing
                assert engine.pipeline.gate.state is TradingState.ACTIVE
                assert engine.failing_critical_stages() == []
                await until(lambda: any(body["data"].get("degraded") == ["stage:api"] for body in bodies))
            finally:
                taken.close()
    assert "stage api keeps crashing" in caplog.text and "trading goes on" in caplog.text
    assert f"api.port {port} on 127.0.0.1 cannot be used" in caplog.text
    assert "trading HALTED" not in caplog.text
