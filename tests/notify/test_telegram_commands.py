"""The parts of Telegram control a whole bot cannot show quickly: the /flatten code expires on the clock, the saved
update id survives and a damaged one is named, failures back off 1 s, 2 s, 4 s … up to a minute without the token
in any line, an old command is not carried out, and remote control without a token is refused at load time."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram_standin import TelegramStandIn

from helpers import until
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.errors import ConfigError
from ictbot.kernel.clock import ManualClock
from ictbot.notify.telegram import FlattenConfirmation, TelegramControl, UpdateOffset
from ictbot.runtime.supervisor import Supervisor

TOKEN = "5550001111:AAH-unit-token_Wm3k"
OWNER = 77


async def test_a_flatten_code_confirms_once_within_its_window_and_never_after() -> None:
    clock = ManualClock(1_000_000)
    confirmation = FlattenConfirmation(clock, 60)
    code = confirmation.issue(OWNER)
    assert re.fullmatch(r"\d{6}", code)
    await clock.advance(59.9)
    assert confirmation.confirm(OWNER, code) is None
    assert confirmation.confirm(OWNER, code) == "no flatten is waiting for a code", "one time only"

    code = confirmation.issue(OWNER)
    await clock.advance(60.001)
    assert confirmation.confirm(OWNER, code) == "the code expired (60 s)"

    code = confirmation.issue(OWNER)
    assert confirmation.confirm(OWNER + 1, code) == "no flatten is waiting for a code", "another chat's code"
    assert confirmation.confirm(OWNER, f"{(int(code) + 1) % 1_000_000:06d}") == "wrong code"
    assert confirmation.confirm(OWNER, code) == "no flatten is waiting for a code", "a wrong guess costs the code"


def test_the_update_offset_survives_and_a_damaged_file_is_named_with_the_fix(tmp_path: Path) -> None:
    offset = UpdateOffset(tmp_path / "telegram-offset")
    assert offset.load() is None
    offset.save(500_000_123)
    assert UpdateOffset(tmp_path / "telegram-offset").load() == 500_000_123
    assert not list(tmp_path.glob("*.tmp"))
    (tmp_path / "telegram-offset").write_text("garbage")
    with pytest.raises(ConfigError, match=r"telegram-offset does not hold an update id; delete it"):
        offset.load()


def test_remote_control_without_a_bot_token_is_refused_at_load_time() -> None:
    with pytest.raises(ConfigError, match=r"telegram_control_chat_ids needs the bot's token"):
        load_settings(notify={"telegram_control_chat_ids": [OWNER]})


@contextlib.asynccontextmanager
async def control_stage(tmp_path: Path, api_url: str, token: str, wall: ManualClock) -> AsyncIterator[Supervisor]:
    """The ``telegram`` stage of a (not started) bot, supervised on ``wall``."""
    settings = load_settings(
        data_dir=str(tmp_path / "data"),
        execution={"broker": "simulated"},
        notify={
            "telegram_token": token,
            "telegram_chat_id": str(OWNER),
            "telegram_api_url": api_url,
            "telegram_control_chat_ids": [OWNER],
            "telegram_poll_timeout_s": 1,
        },
    )
    (tmp_path / "data").mkdir()
    engine = build_engine(settings, wall=wall)
    supervisor = Supervisor(wall, wall=wall)
    supervisor.add("telegram", TelegramControl(engine).run, critical=False)
    await supervisor.start()
    try:
        yield supervisor
    finally:
        await supervisor.stop()


async def test_failing_polls_back_off_to_a_minute_and_never_log_the_token(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="ictbot.telegram")
    wall = ManualClock(time.time_ns() // 1_000_000)
    delays: list[str] = []
    async with TelegramStandIn("another-bots-token") as telegram, control_stage(tmp_path, telegram.url, TOKEN, wall):
        for seen in range(8):
            await until(lambda seen=seen: len(failures(caplog)) > seen, 10, "the next failed poll")
            delays.append(failures(caplog)[-1])
            await wall.advance(float(delays[-1]))
    assert delays == ["1", "2", "4", "8", "16", "32", "60", "60"]
    assert "telegram getUpdates failed: HTTP 401 Unauthorized; asking again in 1 s" in caplog.text
    assert TOKEN not in caplog.text


def failures(caplog) -> list[str]:
    return re.findall(r"getUpdates failed: .*?; asking again in (\d+) s", caplog.text)


async def test_a_command_sent_long_before_the_bot_reads_it_is_answered_but_not_carried_out(tmp_path: Path) -> None:
    wall = ManualClock(time.time_ns() // 1_000_000)
    async with TelegramStandIn(TOKEN) as telegram, control_stage(tmp_path, telegram.url, TOKEN, wall):
        telegram.send(OWNER, "/pause", age_s=600)
        telegram.send(OWNER, "/pause")
        await until(lambda: len(telegram.replies) == 2, 10, "two answers")
    old, fresh = (reply.text for reply in telegram.replies)
    assert re.fullmatch(r"/pause was sent 6\d\d s ago, while the bot was not reading: not carried out\. .*", old)
    assert fresh == "/pause refused: the bot is still starting; try again once it runs", "the fresh one is tried"
