"""The read API, status and health on a real bot (replay on real BTCUSDT candles, local exchange, SQLite), frozen
after a few trades so every answer can be compared with the engine and the database."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal

import pytest
import pytest_asyncio
from botkit import client, frozen_after_trades, running
from typer.testing import CliRunner

from ictbot.cli import app as cli
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.storage import open_recorder

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(btc_days, tmp_path_factory):
    from ictbot.config import load_settings

    tmp = tmp_path_factory.mktemp("reads")  # the bot stays up at the replay's end, as in conftest.make_settings
    settings = load_settings(
        replay={"speed": 60_000, "warmup": 600, "data": [str(btc_days)], "stop_at_end": False},
        strategy={"name": "fvg_retrace"},
        data_dir=str(tmp / "data"),
        database_url=f"sqlite:///{tmp / 'bot.sqlite'}",
        api={"port": 0},
        execution={"broker": "simulated"},
    )
    earlier_replay(settings, load_candles(btc_days).open_time[600:700])
    async with running(settings) as engine:
        await frozen_after_trades(engine, trades=3)
        yield engine


def earlier_replay(settings, open_times) -> None:
    """A run of the same replay before this one: its equity (flat at 10,000) falls on the very market times this run
    records, as every replay of the same data does."""
    earlier = open_recorder(settings.database_url)
    earlier.start_run(settings, market_clock=lambda: int(open_times[0]))
    for t in open_times:
        earlier.record_equity(int(t) + 60_000, Decimal(10_000))
    earlier.stop_run("replay finished")
    earlier.engine.dispose()


async def test_health_ready_and_status_describe_the_running_bot(bot):
    async with client(bot) as http:
        health = (await http.get("/health")).json()
        ready = await http.get("/ready")
        status = (await http.get("/status")).json()
    assert health["alive"] is True
    body = ready.json()
    assert ready.status_code == (200 if body["ready"] else 503)
    names = {check["name"] for check in body["checks"]}
    assert {"stream:BTCUSDT:1m", "stream:BTCUSDT:5m", "stream:BTCUSDT:1h", "venue", "reconciliation"} <= names
    assert {"stage:market-data", "stage:pipeline", "stage:heartbeat"} <= names
    assert all({"name", "ok", "age_seconds", "detail"} <= set(check) for check in body["checks"])

    assert status["mode"] == "replay" and status["venue"]["url"] == bot.exchange.rest_url
    assert status["trading"] == {"state": "ACTIVE", "reason": ""}
    tasks = {task["name"]: task for task in status["tasks"]}
    assert {"market-data", "pipeline", "venue-check", "heartbeat", "api"} <= set(tasks)
    assert all("beat_age_seconds" in t and "restarts" in t for t in tasks.values())
    streams = {s["stream"]: s for s in status["streams"]}
    newest_1m = bot.pipeline.book.closed("BTCUSDT", Timeframe.M1)[:, -1]
    assert streams["BTCUSDT:1m"]["newest_candle"]["time"] == int(newest_1m[0])
    assert streams["BTCUSDT:1m"]["newest_candle"]["close"] == newest_1m[4]
    totals = bot.counters.totals()
    assert status["counts"]["fills"] == totals.fills == len(open_recorder(bot.settings.database_url).fills(limit=1000))
    assert streams["BTCUSDT:5m"]["candles_processed"] == totals.candles[("BTCUSDT", Timeframe.M5)]
    assert status["equity"] == str(bot.pipeline.equity())


async def test_every_read_endpoint_matches_the_engine_and_the_database(bot):
    db = open_recorder(bot.settings.database_url)
    portfolio = bot.pipeline.portfolio
    async with client(bot) as http:
        trades = (await http.get("/api/trades", params={"limit": 1000})).json()["items"]
        fills = (await http.get("/api/fills", params={"limit": 1000})).json()["items"]
        orders = (await http.get("/api/orders", params={"limit": 1000})).json()["items"]
        signals = (await http.get("/api/signals", params={"limit": 1000})).json()["items"]
        rejections = (await http.get("/api/rejections", params={"limit": 1000})).json()["items"]
        daily = (await http.get("/api/pnl/daily")).json()["items"]
        curve = (await http.get("/api/equity")).json()
        positions = (await http.get("/api/positions")).json()["items"]
        candles = (await http.get("/api/candles/BTCUSDT/5m", params={"limit": 50})).json()["items"]
        zones = (await http.get("/api/zones/BTCUSDT/5m")).json()["items"]
        one = (await http.get(f"/api/orders/{orders[0]['client_order_id']}")).json()
        paged, offset = [], 0
        while offset is not None:
            page = (await http.get("/api/trades", params={"limit": 2, "offset": offset})).json()
            paged += page["items"]
            offset = page["next_offset"]

    closed = db.trades(limit=1000)
    assert len(closed) >= 3
    assert paged == trades
    assert [t["client_order_id"] for t in trades if t["exit_time"] is not None] == [t.client_order_id for t in closed]
    assert [t["pnl"] for t in trades if t["exit_time"] is not None] == [
        str(t.realized - t.fees + t.funding) for t in closed
    ]
    assert [t["client_order_id"] for t in trades if t["exit_time"] is None] == [
        t.client_order_id for t in portfolio.open_trades.values()
    ]
    fees = sum((f.fee for f in db.fills(limit=1000)), Decimal(0))
    assert (
        sum((t.fees for t in closed), Decimal(0)) + sum((t.fees for t in portfolio.open_trades.values()), Decimal(0))
        == fees
    )

    assert len(fills) == bot.counters.totals().fills == len(db.fills(limit=1000))
    assert [(f["time"], f["price"], f["quantity"]) for f in fills] == [
        (f.time, str(f.price), str(f.quantity)) for f in db.fills(limit=1000)
    ]
    assert {f["reason"] for f in fills} >= {"entry"} and len({f["reason"] for f in fills}) > 1

    recorded_orders = db.orders(limit=1000)
    assert [o["client_order_id"] for o in orders] == [o.client_order_id for o in recorded_orders]
    assert all(o["history"] and o["history"][0]["state"] == "intent" for o in orders)
    assert one["client_order_id"] == orders[0]["client_order_id"] and one["history"] == orders[0]["history"]

    assert len(signals) == bot.counters.totals().signals == len(db.signals(limit=1000))
    assert all(s["evidence"] and s["decision"]["accepted"] in (True, False) for s in signals)
    assert [s["key"] for s in rejections] == [s["key"] for s in signals if not s["decision"]["accepted"]]
    assert all(r["decision"]["reason"] for r in rejections)

    assert {d["day"] for d in daily} == {d.day for d in db.daily_pnl()}
    assert sum(d["fill_count"] for d in daily) == len(fills)
    run = bot.recorder.run_id
    assert curve["run"] == run == 2
    assert [(e["time"], e["equity"]) for e in curve["items"]] == [
        (e.time, str(e.equity)) for e in db.equity_curve(run_id=run, newest=True)
    ]
    assert len({e["equity"] for e in curve["items"]}) > 1  # this run's curve moves with its trades

    open_positions = {s: p for s, p in portfolio.positions.items() if p.quantity != 0}
    assert {p["symbol"]: p["quantity"] for p in positions} == {s: str(p.quantity) for s, p in open_positions.items()}

    book = bot.pipeline.book.closed("BTCUSDT", Timeframe.M5)[:, -50:]
    assert [c["time"] for c in candles] == [int(t) for t in book[0]]
    assert [c["close"] for c in candles] == list(book[4])
    kinds = {z["kind"] for z in zones}
    assert {"fvg", "ob", "breaker"} <= kinds and kinds & {"bos", "choch"}
    assert all(z["ends_at"] is None or z["ends_at"] > z["formed_at"] for z in zones)


async def test_pages_follow_each_other(bot):
    async with client(bot) as http:
        whole = (await http.get("/api/fills", params={"limit": 4})).json()
        first = (await http.get("/api/fills", params={"limit": 2})).json()
        second = (await http.get("/api/fills", params={"limit": 2, "offset": first["next_offset"]})).json()
        last = (await http.get("/api/fills", params={"limit": 1000})).json()
    assert first["next_offset"] == 2 and first["items"] + second["items"] == whole["items"]
    assert last["next_offset"] is None


async def test_the_equity_curve_and_trades_of_an_earlier_run_stay_apart_from_this_one(bot):
    async with client(bot) as http:
        runs = (await http.get("/api/runs")).json()
        earlier = (await http.get("/api/equity", params={"run": 1})).json()
        newest = (await http.get("/api/equity", params={"limit": 5})).json()
        older = (await http.get("/api/equity", params={"limit": 5, "end": newest["next_end"]})).json()
        earlier_trades = (await http.get("/api/trades", params={"run": 1})).json()["items"]
        these_trades = (await http.get("/api/trades", params={"run": 2, "limit": 1000})).json()["items"]
    assert runs["current"] == 2
    assert [(r["id"], r["mode"], r["symbols"], r["stopped_at"] is None) for r in runs["items"]] == [
        (2, "replay", ["BTCUSDT"], True),
        (1, "replay", ["BTCUSDT"], False),
    ]
    assert earlier["run"] == 1 and {e["equity"] for e in earlier["items"]} == {"10000"} and len(earlier["items"]) == 100
    newest_ten = open_recorder(bot.settings.database_url).equity_curve(run_id=2, limit=10, newest=True)
    # the market time this run started at is the replay's, a year before the wall-clock start
    assert earlier["items"][0]["time"] - 120_000 <= runs["items"][0]["market_started_at"] <= newest_ten[0].time
    assert runs["items"][0]["started_at"] - runs["items"][0]["market_started_at"] > 180 * 86_400_000
    assert [e["time"] for e in older["items"] + newest["items"]] == [e.time for e in newest_ten]
    assert earlier_trades == [] and len(these_trades) >= 3


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/fills?limit=0", "greater than or equal to 1"),
        ("/api/fills?limit=5000", "less than or equal to 1000"),
        ("/api/orders?offset=-1", "greater than or equal to 0"),
        ("/api/signals?limit=ten", "valid integer"),
        ("/api/fills?symbol=btc/usdt", "should match pattern"),
        ("/api/candles/BTCUSDT/7m", "'1m', '3m', '5m'"),
        ("/api/candles/ETHUSDT/5m", "ETHUSDT is not traded by this bot; it trades BTCUSDT"),
        ("/api/zones/BTCUSDT/4h", "timeframe 4h is not built for BTCUSDT; built: 1m, 5m, 1h"),
        ("/api/equity?start=10&end=5", "end (5) is before start (10)"),
        ("/api/orders?open_only=maybe", "valid boolean"),
    ],
)
async def test_bad_parameters_are_refused_with_a_clear_message(bot, path, message):
    async with client(bot) as http:
        response = await http.get(path)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])


async def test_unknown_order_is_404_and_openapi_documents_every_endpoint(bot):
    async with client(bot) as http:
        missing = await http.get("/api/orders/nope")
        schema = (await http.get("/openapi.json")).json()
    assert missing.status_code == 404 and "no order with client order id 'nope'" in missing.json()["detail"]
    documented = set(schema["paths"])
    assert {
        "/health",
        "/ready",
        "/status",
        "/metrics",
        "/api/positions",
        "/api/orders",
        "/api/fills",
        "/api/trades",
        "/api/signals",
        "/api/rejections",
        "/api/pnl/daily",
        "/api/equity",
        "/api/runs",
        "/api/candles/{symbol}/{timeframe}",
        "/api/zones/{symbol}/{timeframe}",
        "/api/config",
        "/api/events",
        "/api/control/pause",
        "/api/control/flatten",
        "/api/control/positions/{symbol}/close",
    } <= documented
    limit = next(p for p in schema["paths"]["/api/fills"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 1000


async def test_ictbot_status_prints_the_status_from_the_api(bot):
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["status", "--url", bot.api_url])
    assert result.exit_code == 0, result.output
    assert "replay" in result.output and "ACTIVE" in result.output
    assert "BTCUSDT:1m" in result.output and "pipeline" in result.output
    assert re.search(r"equity \d+\.\d\d USDT ·", result.output), result.output


async def test_ictbot_status_says_when_no_bot_answers():
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["status", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "no bot answers at http://127.0.0.1:9" in result.output
