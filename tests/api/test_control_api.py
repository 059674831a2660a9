"""Control needs the bearer token; refused requests change nothing; accepted ones act through the engine and are
recorded with time and source. Secrets never appear in any answer or log line; CORS is closed; loopback by default."""

from __future__ import annotations

import logging
from pathlib import Path

from botkit import TOKEN, Receiver, client, freeze, running, until

from ictbot.config import Settings
from ictbot.storage import EventKind

CONTROL = [
    "/api/control/pause",
    "/api/control/resume",
    "/api/control/flatten",
    "/api/control/positions/BTCUSDT/close",
    "/api/control/strategy/reload",
]


async def test_control_without_or_with_a_wrong_token_is_refused_and_changes_nothing(make_settings):
    async with running(make_settings(speed=6000)) as engine:
        engine.exchange.stop_clock()
        answers = []
        async with client(engine) as http:
            for path in CONTROL:
                answers.append((await http.post(path, json={}), 401))
                answers.append((await http.post(path, json={}, headers={"Authorization": TOKEN}), 401))
                answers.append((await http.post(path, json={}, headers={"Authorization": "Basic eDp5"}), 401))
                answers.append((await http.post(path, json={}, headers={"Authorization": "Bearer wrong"}), 403))
            events = (await http.get("/api/events", params={"kind": "control"})).json()["items"]
        for response, expected in answers:
            assert response.status_code == expected, (response.request.url, response.text)
        assert answers[0][0].headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <token>" in answers[0][0].json()["detail"]
        assert answers[3][0].json()["detail"] == "wrong API token"
        assert engine.pipeline.gate.state.value == "ACTIVE"
        assert events == [] and engine.recorder.events(kind=EventKind.CONTROL) == []


async def test_without_a_configured_token_the_bot_makes_one_keeps_it_owner_only_and_reuses_it(make_settings, caplog):
    caplog.set_level(logging.INFO)
    settings = make_settings(speed=6000, api={"token": None})
    path = settings.data_dir / "control-token"
    async with running(settings) as engine:
        engine.exchange.stop_clock()
        await until(lambda: "#token=" in caplog.text)
        token = path.read_text().strip()
        assert len(token) >= 32 and path.stat().st_mode & 0o777 == 0o600
        assert f"{engine.api_url}/#token={token}" in caplog.text
        async with client(engine, Authorization="Bearer anything") as http:
            assert (await http.post("/api/control/pause")).status_code == 403
        async with client(engine, Authorization=f"Bearer {token}") as http:
            status = await http.get("/status")
            assert token not in status.text
            assert (await http.post("/api/control/pause")).status_code == 200
        assert engine.pipeline.gate.state.value == "HALTED"
    async with running(settings) as engine:
        assert path.read_text().strip() == token, "a restart keeps the token the user already has"
        async with client(engine, Authorization=f"Bearer {token}") as http:
            assert (await http.post("/api/control/resume")).status_code == 200


async def test_a_configured_token_wins_over_the_kept_one(make_settings):
    settings = make_settings(speed=6000)
    (settings.data_dir).mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "control-token").write_text("kept-token-from-an-earlier-run\n")
    async with running(settings) as engine:
        engine.exchange.stop_clock()
        async with client(engine, Authorization="Bearer kept-token-from-an-earlier-run") as http:
            assert (await http.post("/api/control/pause")).status_code == 403
        async with client(engine, Authorization=f"Bearer {TOKEN}") as http:
            assert (await http.post("/api/control/pause")).status_code == 200


async def test_control_actions_act_and_are_recorded_with_time_and_source(make_settings):
    async with running(make_settings()) as engine:
        portfolio = engine.pipeline.portfolio
        await freeze(engine, lambda: portfolio.open_position_count() > 0)
        async with client(engine, Authorization=f"Bearer {TOKEN}") as http:
            paused = await http.post("/api/control/pause")
            assert paused.status_code == 200 and paused.json()["trading"]["state"] == "HALTED"
            assert engine.pipeline.gate.state.value == "HALTED"
            resumed = await http.post("/api/control/resume")
            assert resumed.json()["trading"] == {"state": "ACTIVE", "reason": ""}

            bad_symbol = await http.post("/api/control/positions/ETHUSDT/close")
            assert bad_symbol.status_code == 422 and "ETHUSDT is not traded by this bot" in bad_symbol.json()["detail"]
            bad_param = await http.post("/api/control/strategy/reload", json={"reward_risk": -1})
            assert bad_param.status_code == 422 and "reward_risk" in bad_param.json()["detail"]
            reloaded = await http.post("/api/control/strategy/reload", json={"reward_risk": 3.0})
            assert reloaded.status_code == 200 and engine.settings.strategy.reward_risk == 3.0

            closed = (await http.post("/api/control/positions/BTCUSDT/close")).json()
            assert closed["fills"] and closed["fills"][0]["reason"] == "manual"
            assert portfolio.open_position_count() == 0
            assert (await http.get("/api/positions")).json()["items"] == []
            flattened = await http.post("/api/control/flatten")
            assert flattened.json()["trading"]["state"] == "HALTED"

            await until(lambda: len(engine.recorder.events(kind=EventKind.CONTROL)) == 5)
            events = (await http.get("/api/events", params={"kind": "control"})).json()["items"]
        actions = [e["detail"].split()[0] for e in reversed(events)]
        assert actions == ["pause", "resume", "reload_strategy", "close_position", "flatten"]
        assert all(e["source"] == "api:127.0.0.1" and e["time"] > 0 for e in events)


async def test_secrets_never_appear_in_an_answer_or_a_log_line(make_settings, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = {"venue-key-8c1e2f", "venue-secret-77a9d0", TOKEN, "tg-token-3b5e1a", "hook-key-91ce44"}
    async with Receiver() as hook, Receiver(mode="fail") as telegram:
        settings = make_settings(
            venue={"api_key": "venue-key-8c1e2f", "api_secret": "venue-secret-77a9d0"},
            notify={
                "webhook_url": f"{hook.url}/hook?key=hook-key-91ce44",
                "telegram_token": "tg-token-3b5e1a",
                "telegram_chat_id": "42",
                "telegram_api_url": telegram.url,
            },
        )
        texts = []
        async with running(settings) as engine:
            await freeze(engine, lambda: engine.counters.totals().fills >= 2)
            await until(lambda: len(hook.requests) >= 2 and len(telegram.requests) >= 2)
            async with client(engine) as http:
                schema = (await http.get("/openapi.json")).json()
                paths = [p for p, ops in schema["paths"].items() if "get" in ops and "{" not in p]
                paths += ["/api/candles/BTCUSDT/5m", "/api/zones/BTCUSDT/5m", "/", "/static/app.js", "/openapi.json"]
                for path in paths:
                    response = await http.get(path)
                    assert response.status_code in (200, 503), path
                    texts.append(f"{response.headers}\n{response.text}")
                for auth in ("", "Bearer wrong", f"Bearer {TOKEN}"):
                    response = await http.post("/api/control/pause", headers={"Authorization": auth})
                    texts.append(f"{response.headers}\n{response.text}")
                texts.append((await http.get("/api/events")).text)
        assert any("**********" in t for t in texts), "the config endpoint shows that secrets exist, redacted"
        assert telegram.requests[0][0] == "/bottg-token-3b5e1a/sendMessage"  # the token did reach Telegram
        assert "telegram notification (fill) failed: HTTP 500" in caplog.text
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    for secret in secrets:
        assert not any(secret in t for t in texts), secret
        assert secret not in logged, secret


async def test_cors_is_closed_by_default_and_the_api_binds_to_loopback(make_settings):
    assert Settings.model_fields["api"].default.host == "127.0.0.1"
    assert Settings.model_fields["api"].default.cors_origins == []
    async with running(make_settings(speed=6000)) as engine:
        engine.exchange.stop_clock()
        assert engine.api_url.startswith("http://127.0.0.1:")
        origin = {"Origin": "https://evil.example"}
        async with client(engine) as http:
            simple = await http.get("/status", headers=origin)
            preflight = await http.options(
                "/api/control/pause",
                headers={
                    **origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization",
                },
            )
        assert "access-control-allow-origin" not in simple.headers
        assert "access-control-allow-origin" not in preflight.headers and preflight.status_code == 405


async def test_ictbot_flatten_reaches_a_running_bot_with_the_kept_token_and_no_configured_one(make_settings):
    import asyncio

    from ictbot.runtime.cli import _flatten_running_bot

    settings = make_settings(speed=6000, api={"token": None})
    async with running(settings) as engine:
        engine.exchange.stop_clock()
        port = int(engine.api_url.rsplit(":", 1)[1])
        pointed = settings.model_copy(update={"api": settings.api.model_copy(update={"port": port})})
        answer = await asyncio.to_thread(_flatten_running_bot, pointed)
        assert answer.startswith("the running bot flattened and halted")
        assert engine.pipeline.gate.state.value == "HALTED"
        assert "flattened by" in engine.pipeline.gate.state_reason


async def test_ictbot_status_sends_the_kept_token_and_says_whether_the_bot_accepts_it(
    make_settings, tmp_path, monkeypatch
):
    """No api.token anywhere: `ictbot status` with the bot's settings finds <data_dir>/control-token as `ictbot
    flatten` does, and the bot confirms it; with another data directory's token, or none, it says what to do."""
    import asyncio

    import yaml
    from typer.testing import CliRunner

    from ictbot.cli import app as cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ICTBOT_API__TOKEN", raising=False)
    settings = make_settings(speed=6000, api={"token": None})
    other = tmp_path / "other-data"
    other.mkdir()
    (other / "control-token").write_text("a-token-of-another-bot\n")
    async with running(settings) as engine:
        engine.exchange.stop_clock()
        port = int(engine.api_url.rsplit(":", 1)[1])
        token = (settings.data_dir / "control-token").read_text().strip()
        ours, theirs = tmp_path / "bot.yaml", tmp_path / "other.yaml"
        ours.write_text(yaml.safe_dump({"data_dir": str(settings.data_dir), "api": {"port": port}}))
        theirs.write_text(yaml.safe_dump({"data_dir": str(other), "api": {"port": port}}))

        def status(*args: str):
            return CliRunner().invoke(cli, ["status", *args])

        accepted = await asyncio.to_thread(status, "--config", str(ours))
        refused = await asyncio.to_thread(status, "--config", str(theirs))
        without = await asyncio.to_thread(status, "--url", engine.api_url)
    assert accepted.exit_code == 0, accepted.output
    assert f"control: the token in {settings.data_dir / 'control-token'} is accepted" in accepted.output
    assert f"{engine.api_url}/#token=<that token>" in accepted.output
    assert refused.exit_code == 0 and f"the bot refuses the token in {other / 'control-token'}" in refused.output
    assert without.exit_code == 0 and f"control: no token in {Path('ictbot-data') / 'control-token'}" in without.output
    assert all(token not in r.output for r in (accepted, refused, without))
