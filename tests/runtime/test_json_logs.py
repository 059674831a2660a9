"""``logging.format: json``: every line of the log file is one JSON object with time, level, logger and message, the
heartbeat's figures are keys of their own, and no configured secret is ever written, in JSON or in text."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ictbot.config import load_settings
from ictbot.domain import Timeframe
from ictbot.kernel.clock import ManualClock
from ictbot.runtime import Health, HeartbeatMonitor, StageContext, Supervisor
from ictbot.runtime.operations import secret_values, setup_logging

API_KEY = "venue-key-7QpL2xW9"
API_SECRET = 'venue-secret-"quoted"\\and-slashed-4d1e'
TELEGRAM_TOKEN = "7741029380:AAF-telegram-token_x9Yq"
DB_PASSWORD = "pg-pass-0c8e11"


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys, the bot token and the database password as an operator sets them: in the environment."""
    monkeypatch.setenv("ICTBOT_VENUE__API_KEY", API_KEY)
    monkeypatch.setenv("ICTBOT_VENUE__API_SECRET", API_SECRET)
    monkeypatch.setenv("ICTBOT_NOTIFY__TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("ICTBOT_NOTIFY__TELEGRAM_CHAT_ID", "42")
    monkeypatch.setenv("ICTBOT_DATABASE_URL", f"postgresql://ictbot:{DB_PASSWORD}@db.example/ictbot")


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """The handlers ``setup_logging`` adds to the root logger are removed (and closed) after the test."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def leaky_records(log: logging.Logger) -> None:
    """What could carry a secret into a log line: a URL with the token, an exception's text, an ``extra`` field."""
    log.warning("telegram failed: https://api.telegram.org/bot%s/getUpdates", TELEGRAM_TOKEN)
    try:
        raise RuntimeError(f"signature rejected for key {API_KEY} and secret {API_SECRET}")
    except RuntimeError:
        log.exception("venue call failed")
    log.info("connected", extra={"venue": {"api_key": API_KEY, "db": f"ictbot:{DB_PASSWORD}@db.example"}})


def assert_no_secret(text: str) -> None:
    for secret in (API_KEY, API_SECRET, TELEGRAM_TOKEN, DB_PASSWORD, json.dumps(API_SECRET)[1:-1]):
        assert secret not in text


@pytest.mark.usefixtures("secret_env", "root_handlers")
async def test_json_lines_carry_the_heartbeat_figures_as_keys_and_mask_every_secret(
    tmp_path: Path, clock: ManualClock, supervisor: Supervisor
) -> None:
    settings = load_settings(logging={"format": "json"}, data_dir=str(tmp_path / "data"))
    assert settings.logging.format == "json"
    path = setup_logging(settings.data_dir, format=settings.logging.format, secrets=secret_values(settings))

    async def trader(ctx: StageContext) -> None:
        ctx.counters.signal(3)
        ctx.counters.rejection("symbol_busy")
        ctx.counters.order(2)
        ctx.counters.fill()
        while True:
            ctx.beat()
            await ctx.clock.sleep(10)

    health = Health(supervisor, [("BTCUSDT", Timeframe.M1)])
    health.mark_reconciled(clock.now_ms())
    supervisor.add("strategy", trader)
    supervisor.add("heartbeat", HeartbeatMonitor(health, supervisor.counters).run)
    await supervisor.start()
    await clock.advance(60)
    leaky_records(logging.getLogger("ictbot.test"))
    for handler in logging.getLogger().handlers:
        handler.flush()

    text = path.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]  # every line, or json.loads fails the test
    assert_no_secret(text)
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0 for line in lines)
    [beat] = [line for line in lines if line["logger"] == "ictbot.heartbeat"]
    assert beat["level"] == "INFO" and beat["message"].startswith("heartbeat ready=")
    figures = beat["heartbeat"]
    assert (figures["signals"], figures["orders"], figures["fills"], figures["rejections"]) == (3, 2, 1, 1)
    assert figures["ready"] is False and "venue" in figures["failing"]
    assert figures["candles"] == {"BTCUSDT:1m": 0} and figures["newest_candle_age_s"] == {"BTCUSDT:1m": None}
    telegram, venue, connected = (line for line in lines if line["logger"] == "ictbot.test")
    assert telegram["message"] == "telegram failed: https://api.telegram.org/bot***/getUpdates"
    assert (
        venue["level"] == "ERROR"
        and "RuntimeError: signature rejected for key *** and secret ***" in venue["exception"]
    )
    assert connected["venue"] == {"api_key": "***", "db": "ictbot:***@db.example"}


@pytest.mark.usefixtures("secret_env", "root_handlers")
def test_text_lines_mask_the_same_secrets(tmp_path: Path) -> None:
    settings = load_settings(data_dir=str(tmp_path / "data"))
    assert settings.logging.format == "text"
    path = setup_logging(settings.data_dir, secrets=secret_values(settings))
    leaky_records(logging.getLogger("ictbot.test"))
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert_no_secret(text)
    assert "telegram failed: https://api.telegram.org/bot***/getUpdates" in text
    assert "RuntimeError: signature rejected for key *** and secret ***" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_the_log_format_is_checked_and_named_in_the_error() -> None:
    from ictbot.errors import ConfigError

    with pytest.raises(ConfigError, match=r"logging\.format"):
        load_settings(logging={"format": "xml"})
