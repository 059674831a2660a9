"""The API of a bot while it runs: metrics that move, readiness that follows a stalled stream, the live event stream,
and notifications that never hold trading up."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal

import httpx
import websockets
from botkit import Receiver, client, running, until
from prometheus_client.parser import text_string_to_metric_families

from ictbot.domain import Timeframe


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_parse_and_counters_move_while_the_bot_runs(make_settings):
    async with running(make_settings(speed=1200)) as engine, client(engine) as http:
        await until(lambda: engine.counters.totals().candles.get(("BTCUSDT", Timeframe.M1), 0) > 0)
        first = await http.get("/metrics")
        assert first.headers["content-type"].startswith("text/plain; version=")
        before = _samples(first.text)
        m5_key = ("BTCUSDT", Timeframe.M5)
        seen = engine.counters.totals().candles.get(m5_key, 0)
        await until(lambda: engine.counters.totals().candles.get(m5_key, 0) >= seen + 2)
        after = _samples((await http.get("/metrics")).text)
    m1 = ("ictbot_candles_processed_total", (("symbol", "BTCUSDT"), ("timeframe", "1m")))
    m5 = ("ictbot_candles_processed_total", (("symbol", "BTCUSDT"), ("timeframe", "5m")))
    assert after[m1] > before[m1] and after[m5] >= before.get(m5, 0) + 2
    names = {name for name, _ in after}
    assert {
        "ictbot_candle_age_seconds",
        "ictbot_signals_total",
        "ictbot_orders_sent_total",
        "ictbot_fills_total",
        "ictbot_equity_usdt",
        "ictbot_realized_pnl_usdt",
        "ictbot_unrealized_pnl_usdt",
        "ictbot_open_positions",
        "ictbot_task_restarts_total",
        "ictbot_task_up",
        "ictbot_ready",
        "ictbot_trading_state",
        "ictbot_venue_last_ok_age_seconds",
        "ictbot_venue_used_weight_1m",
    } <= names
    assert after[("ictbot_task_up", (("task", "market-data"),))] == 1
    assert after[("ictbot_trading_state", (("state", "ACTIVE"),))] == 1


async def test_metrics_count_orders_by_state_and_rejections_by_reason(make_settings):
    async with running(make_settings()) as engine, client(engine) as http:
        await until(lambda: engine.counters.totals().fills >= 2 and engine.counters.totals().rejected >= 1)
        await until(lambda: len(engine.recorder.orders(limit=1000)) >= 1)
        samples = _samples((await http.get("/metrics")).text)
    states = {dict(labels)["state"]: v for (name, labels), v in samples.items() if name == "ictbot_orders"}
    reasons = {dict(labels)["reason"] for (name, labels), v in samples.items() if name == "ictbot_rejections_total"}
    assert sum(states.values()) >= 1 and reasons
    assert samples[("ictbot_fills_total", ())] >= 2


async def test_readiness_flips_to_503_within_two_timeframes_of_a_stall_and_back(make_settings):
    async with Receiver() as hook:
        settings = make_settings(speed=120, notify={"webhook_url": f"{hook.url}/hook", "events": ["readiness"]})
        async with (
            running(settings) as engine,
            client(engine) as http,
            websockets.connect(engine.api_url.replace("http", "ws") + "/api/stream") as stream,
        ):
            await _until_status(http, 200)
            stalled_at = engine.clock.now_ms()
            engine.exchange.stall_websockets(True)
            body = await _until_status(http, 503)
            assert "stream:BTCUSDT:1m" in [c["name"] for c in body["checks"] if not c["ok"]]
            # Market time: the stream is flagged once its newest candle is 2 × 1m old (polling adds a little).
            assert body["checked_at_ms"] - stalled_at <= 2 * 60_000 + 10_000
            engine.exchange.stall_websockets(False)
            await _until_status(http, 200)
            events = await _events_until(stream, lambda seen: _stall_then_recovery(_readiness(seen)))
        assert any(e["type"] == "candle" for e in events)
        await until(lambda: _stall_then_recovery([body["data"] for _, body in hook.requests]))
        assert all(body["category"] == "readiness" for _, body in hook.requests)


def _readiness(events: list[dict]) -> list[dict]:
    return [e["data"] for e in events if e["type"] == "readiness"]


def _stall_then_recovery(readiness: list[dict]) -> bool:
    """The stalled stream made the bot not ready, and a later change made it ready again."""
    stalled = [i for i, r in enumerate(readiness) if not r["ready"] and "stream:BTCUSDT:1m" in r["failing"]]
    return bool(stalled) and any(r["ready"] for r in readiness[stalled[0] :])


async def _until_status(http: httpx.AsyncClient, code: int) -> dict:
    for _ in range(3000):
        response = await http.get("/ready")
        if response.status_code == code:
            return response.json()
        await asyncio.sleep(0.02)
    raise AssertionError(f"/ready never answered {code}")


async def _events_until(stream, predicate) -> list[dict]:
    events = []
    while not predicate(events):
        events.append(json.loads(await asyncio.wait_for(stream.recv(), 30)))
    return events


async def test_webhook_and_telegram_notify_fills_and_task_crashes(make_settings):
    async with Receiver() as hook, Receiver() as telegram:
        settings = make_settings(
            speed=6000,  # candles still flow when the crash is injected, however busy the machine
            notify={
                "webhook_url": f"{hook.url}/hook",
                "telegram_token": "123:abc",
                "telegram_chat_id": "99",
                "telegram_api_url": telegram.url,
            },
        )
        async with running(settings) as engine:
            await until(lambda: engine.counters.totals().fills >= 2)
            original = engine.pipeline.on_base_candle

            def broken(symbol, candle):
                engine.pipeline.on_base_candle = original
                raise RuntimeError("injected strategy bug")

            engine.pipeline.on_base_candle = broken
            await until(lambda: any(b["type"] == "task_crash" for _, b in hook.requests))
        fills = [body for _, body in hook.requests if body["type"] == "fill"]
        assert fills[0]["category"] == "fill" and fills[0]["data"]["reason"] == "entry"
        assert fills[0]["data"] == {**fills[0]["data"], "symbol": "BTCUSDT", "quantity": "0.001"}
        crash = next(body for _, body in hook.requests if body["type"] == "task_crash")
        assert crash["data"]["task"] == "pipeline" and "injected strategy bug" in crash["data"]["error"]
        texts = [body["text"] for path, body in telegram.requests if path == "/bot123:abc/sendMessage"]
        assert any(t.startswith("ictbot: BTCUSDT entry fill: BUY 0.001 @ ") for t in texts)
        assert any("task pipeline crashed" in t and "injected strategy bug" in t for t in texts)
        assert all(body["chat_id"] == "99" for _, body in telegram.requests)


async def test_a_receiver_that_never_answers_does_not_hold_up_trading(make_settings, caplog):
    caplog.set_level(logging.WARNING, logger="ictbot.notify")
    async with Receiver(mode="hang") as hook:
        settings = make_settings(notify={"webhook_url": f"{hook.url}/hook", "timeout_s": 60, "queue_size": 1})
        async with running(settings) as engine:
            await until(lambda: engine.counters.totals().fills >= 4)
            assert len(hook.requests) == 1  # the first delivery still waits for an answer
            assert engine.pipeline.gate.state.value == "ACTIVE"
    assert "notification dropped" in caplog.text


async def test_on_the_venue_the_api_shows_the_exchanges_orders_and_positions_and_the_client_budget(make_settings):
    """Replay's default broker is the venue: the API's open orders and positions are the local exchange's."""
    settings = make_settings(speed=6000, execution={"unknown_order_settle_s": 0.05})
    async with running(settings) as engine, client(engine) as http:
        exchange = engine.exchange
        await until(lambda: len(exchange.engine.trades) >= 3, seconds=120)
        exchange.stop_clock()
        await until(lambda: not engine.orders.busy)
        await asyncio.sleep(0.5)  # the last user-data events of the frozen venue
        orders = (await http.get("/api/orders", params={"open_only": "true", "limit": 500})).json()["items"]
        positions = (await http.get("/api/positions")).json()["items"]
        fills = (await http.get("/api/fills", params={"limit": 500})).json()["items"]
        samples = _samples((await http.get("/metrics")).text)
    venue_open = {o.client_order_id for o in exchange.engine.open_orders()}
    venue_open |= {a.client_algo_id for a in exchange.engine.open_algos()}
    assert {o["client_order_id"] for o in orders} == venue_open
    held = {p.symbol: p.amount for p in exchange.engine.open_positions() if p.amount != 0}
    assert {p["symbol"]: Decimal(str(p["quantity"])) for p in positions} == held
    assert len(fills) == len(exchange.engine.trades)
    budget = {dict(labels)["measure"]: v for (name, labels), v in samples.items() if name == "ictbot_venue_rate_limit"}
    assert budget["weight_limit_1m"] == 2400 and budget["orders_limit_1m"] == 1200
    # The venue's own counts from its last answer: a new order weighs nothing on Binance's IP budget (so the weight
    # can read 0 when that answer opened a new minute) but counts as an order for a minute.
    assert budget["weight_1m"] + budget["orders_1m"] > 0
    assert ("ictbot_venue_latency_seconds", (("quantile", "0.5"),)) in samples
