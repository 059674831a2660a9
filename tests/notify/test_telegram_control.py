"""Remote control over Telegram, end to end: ``ictbot run`` as its own process (live mode against the local exchange
on loopback, JSON logs), the bot token and the venue keys only in ``.env``, and a local stand-in of the Bot API.

/status and /positions answer with the venue's own figures; /pause stops new entries and /resume lets them in again;
/flatten does nothing until its one-time code comes back, then closes the position on the exchange; every action is
recorded as a control event with its source; a stranger's chat changes nothing and hears nothing; a bot killed with
SIGKILL right after carrying out a command never carries it out again when it restarts. The token is in no log line
and no reply."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from telegram_standin import Reply, TelegramStandIn

from helpers import BotProcess, bot_config, user_stream_connected
from ictbot.data.loaders import load_candles
from ictbot.exchange import LocalExchange
from ictbot.execution.orders import split_id
from ictbot.storage import EventKind, open_recorder

DATA = Path(__file__).resolve().parents[1] / "data"
SYMBOL = "BTCUSDT"
TOKEN = "7741029380:AAF-standin-token_q8Zr"
OWNER, STRANGER = 4242, 666


def configure(tmp_path: Path, exchange: LocalExchange, api_url: str) -> Path:
    """``bot_config`` with Telegram control and JSON logs; the token and the venue keys moved to ``.env``."""
    path = bot_config(tmp_path, exchange, SYMBOL, {"name": "fvg_retrace"})
    settings = yaml.safe_load(path.read_text())
    del settings["venue"]["api_key"], settings["venue"]["api_secret"]
    settings["notify"] = {
        "events": [],
        "telegram_chat_id": str(OWNER),
        "telegram_api_url": api_url,
        "telegram_control_chat_ids": [OWNER],
        "telegram_poll_timeout_s": 2,
    }
    settings["logging"] = {"format": "json"}
    path.write_text(yaml.safe_dump(settings))
    (tmp_path / ".env").write_text(
        f"ICTBOT_NOTIFY__TELEGRAM_TOKEN={TOKEN}\n"
        f"ICTBOT_VENUE__API_KEY={exchange.credentials.api_key}\n"
        f"ICTBOT_VENUE__API_SECRET={exchange.credentials.api_secret}\n"
    )
    return path


def entry_accepted(payload: dict[str, Any]) -> str | None:
    order = payload["o"] if payload.get("e") == "ORDER_TRADE_UPDATE" else {}
    cid = str(order.get("c", ""))
    return cid if cid.startswith("ict-") and split_id(cid)[1] == "" and order["x"] == "NEW" else None


def log_lines(tmp_path: Path) -> list[dict[str, Any]]:
    """Every line of the bot's log file, each parsed as JSON (one that is not fails the test)."""
    text = (tmp_path / "data" / "logs" / "ictbot.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def controls(tmp_path: Path, action: str) -> int:
    """How many times the bot logged carrying out ``action`` for the owner's chat."""
    return sum(1 for line in log_lines(tmp_path) if line["message"] == f"control {action} by telegram:{OWNER}")


async def test_telegram_commands_steer_a_running_bot_only_from_the_configured_chat(tmp_path: Path) -> None:
    frame = load_candles(DATA / "BTC_USDT_USDT-1m-futures.feather").slice(0, 1500)
    async with TelegramStandIn(TOKEN) as telegram, LocalExchange([frame], warmup=400) as exchange:
        bot = BotProcess(configure(tmp_path, exchange, telegram.url), tmp_path / "bot.out")
        entries: list[str] = []
        publish = exchange.engine.sink

        def watch(payload: dict[str, Any]) -> None:
            """The first entry the venue accepts fills at once (the market trades at its limit); then it stands."""
            publish(payload)
            entry = entry_accepted(payload)
            if entry is not None and not entries:
                entries.append(entry)
                exchange.stop_clock()
                asyncio.get_running_loop().call_soon(fill, entry)

        def fill(entry: str) -> None:
            order = next(o for o in exchange.engine.orders.values() if o.client_order_id == entry)
            exchange.engine.on_tick(SYMBOL, order.price, False)

        async def ask(text: str, chat: int = OWNER) -> str:
            """Send a command and return the bot's answer to it (answers come in the order of the commands)."""
            answered = len(telegram.replies_to(OWNER))
            telegram.send(chat, text)
            if chat != OWNER:
                return ""
            await bot.until(lambda: len(telegram.replies_to(OWNER)) > answered, f"the answer to {text}")
            return telegram.replies_to(OWNER)[answered]

        def position() -> Decimal:
            return sum((p.amount for p in exchange.engine.open_positions() if p.symbol == SYMBOL), Decimal(0))

        exchange.engine.sink = watch
        recorder = open_recorder(f"sqlite:///{tmp_path / 'ictbot.sqlite'}")
        bot.start()
        try:
            await bot.until(lambda: user_stream_connected(exchange), "the bot is up")
            await bot.until(lambda: len(telegram.offsets) >= 1, "the bot polls Telegram")

            # a stranger's commands: no action, no answer, a log line
            await ask("/pause", STRANGER)
            await ask("/flatten", STRANGER)
            status = await ask("/status")
            assert telegram.replies_to(STRANGER) == []
            assert "trading: ACTIVE" in status and f"ictbot live: {SYMBOL}, strategy fvg_retrace" in status
            assert f"equity: {exchange.engine.wallet.quantize(Decimal('0.01'))} USDT, open positions: 0" in status
            assert sum("from chat 666 ignored" in line["message"] for line in log_lines(tmp_path)) == 2
            assert controls(tmp_path, "pause") == 0

            # /pause: the next signal is refused as halted and no entry reaches the venue
            assert (await ask("/pause")).startswith("Paused: no new entries")
            assert "trading: HALTED (entries paused by telegram:4242)" in await ask("/status")
            exchange.start_clock(3000)
            await bot.until(lambda: bool(recorder.rejections(reason="halted", limit=1)), "a signal refused, halted")
            assert entries == []

            # /resume: the next entry reaches the venue and fills
            assert await ask("/resume") == "Resumed: the bot takes entries again."
            await bot.until(lambda: bool(entries) and position() != 0, "an entry fills on the venue")
            await bot.until(lambda: bool(recorder.fills(client_order_id=entries[0], limit=1)), "the bot has the fill")
            [held] = [p for p in exchange.engine.open_positions() if p.symbol == SYMBOL and p.amount != 0]
            shown = re.fullmatch(
                rf"{SYMBOL} (LONG|SHORT) ([\d.]+) @ ([\d.]+), mark ([\d.]+), unrealized (-?[\d.]+) USDT",
                await ask("/positions"),
            )
            assert shown is not None
            side, quantity, entry, mark, pnl = shown.groups()
            assert side == ("LONG" if held.amount > 0 else "SHORT")
            assert (Decimal(quantity), Decimal(entry)) == (abs(held.amount), held.entry_price)
            assert Decimal(pnl) == ((Decimal(mark) - held.entry_price) * held.amount).quantize(Decimal("0.01"))

            # /flatten without its code, with a wrong one, with the stranger's copy of it: nothing happens
            asked = await ask("/flatten")
            assert "To confirm, send /flatten " in asked and "within 60 s" in asked
            code = asked.split("send /flatten ")[1].split()[0]
            wrong = f"{(int(code) + 1) % 1_000_000:06d}"
            assert await ask(f"/flatten {wrong}") == "Not flattened: wrong code. Send /flatten for a new code."
            assert await ask(f"/flatten {code}") == (
                "Not flattened: no flatten is waiting for a code. Send /flatten for a new code."
            ), "a wrong answer uses the code up"
            code = (await ask("/flatten")).split("send /flatten ")[1].split()[0]
            await ask(f"/flatten {code}", STRANGER)
            assert "open positions: 1" in await ask("/status")
            assert position() == held.amount and controls(tmp_path, "flatten") == 0

            # with the code: the position is closed on the exchange and trading halts
            assert (await ask(f"/flatten {code}")).startswith("Flattened: every order cancelled")
            await bot.until(lambda: position() == 0 and not exchange.engine.open_algos(), "the venue is flat")
            assert "trading: HALTED (flattened by telegram:4242)" in await ask("/status")
            assert await ask("/positions") == "No open positions."

            # killed right after carrying out a command: the restarted bot never carries it out again
            killed: list[Reply] = []

            def kill(reply: Reply) -> None:
                if reply.text.startswith("Paused") and not killed:
                    killed.append(reply)
                    bot.kill()

            telegram.on_reply = kill
            telegram.send(OWNER, "/pause")
            assert await bot.exit_code() == -signal.SIGKILL
            answered = len(telegram.replies_to(OWNER))
            last_update = telegram.send(OWNER, "/status")
            polls = len(telegram.offsets)
            bot.start()
            await bot.until(lambda: len(telegram.offsets) > polls, "the restarted bot polls Telegram")
            assert telegram.offsets[polls] == last_update, "it asks from the update after the /pause it obeyed"
            await bot.until(lambda: len(telegram.replies_to(OWNER)) > answered, "the answer to /status")
            assert telegram.replies_to(OWNER)[answered:] == [telegram.replies_to(OWNER)[-1]]
            assert "trading: HALTED" in telegram.replies_to(OWNER)[-1]
            assert controls(tmp_path, "pause") == 2 and controls(tmp_path, "resume") == 1
            bot.process.send_signal(signal.SIGINT)
            assert await bot.exit_code() == 0, bot.output()
        finally:
            bot.reap()

        actions = [(e.detail, e.source) for e in reversed(recorder.events(kind=EventKind.CONTROL, limit=10))]
        assert actions[:3] == [
            ("pause", "telegram:4242"),
            ("resume", "telegram:4242"),
            ("flatten trading HALTED", "telegram:4242"),
        ]
        lines = log_lines(tmp_path)  # both runs, to their clean stop: every line one JSON object
        assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
        assert lines[-1]["message"] == "stopped cleanly"
        written = (tmp_path / "data" / "logs" / "ictbot.log").read_text() + (tmp_path / "bot.out").read_text()
        for secret in (TOKEN, exchange.credentials.api_key, exchange.credentials.api_secret):
            assert secret not in written
            assert all(secret not in reply.text for reply in telegram.replies)
