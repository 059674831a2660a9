"""A backup taken while the bot runs is a database a bot can start from: after losing its database, a bot restored
from the backup reconciles with the venue and finds its position protected, with nothing placed twice."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy import make_url

from ictbot.exchange import LocalExchange
from ictbot.storage import OrderState
from ictbot.storage.backup import backup_database

from .harness import Bot, assert_consistent, market_intent, venue_state


def restore(backup: Path, url: str, tmp_path: Path, request) -> str:
    """Where a restored bot's database lives: the SQLite backup file itself, or a new PostgreSQL database that
    ``pg_restore`` loads the dump into."""
    if make_url(url).get_backend_name() == "sqlite":
        return f"sqlite:///{backup}"
    target = request.getfixturevalue("postgres_server").new_database()
    libpq = make_url(target).set(drivername="postgresql").render_as_string(hide_password=False)
    program = shutil.which("pg_restore")
    assert program is not None, "pg_restore comes with pg_dump"
    subprocess.run([program, "--exit-on-error", f"--dbname={libpq}", str(backup)], check=True, capture_output=True)
    return target


async def test_a_bot_restored_from_a_backup_taken_while_it_ran_reconciles_its_protected_position(
    exchange: LocalExchange, tmp_path: Path, database_url: str, request
) -> None:
    bot = Bot(exchange, tmp_path / "ictbot.sqlite", url=database_url)
    restored: Bot | None = None
    try:
        manager = await bot.start()
        entry = market_intent(exchange, "BTCUSDT")
        manager.submit(entry)
        await bot.run_jobs()
        assert bot.recorder.order_by_client_id(entry.client_order_id).state == OrderState.FILLED
        protective = {o.client_order_id for o in bot.recorder.open_intents()}
        assert len(protective) == 2, "a stop and a take-profit rest on the venue"

        backup = backup_database(database_url, tmp_path / "backup" / "ictbot.backup")
        await bot.crash()  # the bot and its database are gone; the backup is all that is left

        restored = Bot(exchange, tmp_path / "restored.sqlite", url=restore(backup, database_url, tmp_path, request))
        await restored.start()
        assert {o.client_order_id for o in restored.recorder.open_intents()} == protective
        done = await restored.reconcile(symbols=["BTCUSDT"])
        assert done.ok, done.summary()
        assert restored.recorder.order_by_client_id(entry.client_order_id).state == OrderState.FILLED
        assert venue_state(exchange)["positions"] == {"BTCUSDT": entry.quantity}
        assert_consistent(exchange, restored.recorder, ["BTCUSDT"])
    finally:
        await bot.stop()
        if restored is not None:
            await restored.stop()
