"""One bot per name per database: the default database follows data_dir, a second live process under the same name is
refused with a message saying what to do, and bots that share a database by design each keep their own records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from ictbot.config import load_settings
from ictbot.storage import BotConflict, BotIdentity, open_bot_recorder, open_recorder

from .records import make_intent

CLAIM = """
import sys
from ictbot.config import load_settings
from ictbot.storage import open_bot_recorder
from ictbot.errors import IctbotError
try:
    recorder = open_bot_recorder(load_settings(mode="paper", symbols=["BTCUSDT"]))
except IctbotError as exc:
    print(exc)
    sys.exit(3)
print("claimed", flush=True)
if sys.argv[1] == "hold":
    sys.stdin.readline()
"""


def claim_in_another_process(url: str, name: str, then: str = "exit", **popen) -> subprocess.Popen[str]:
    env = {**os.environ, "ICTBOT_DATABASE_URL": url, "ICTBOT_BOT_NAME": name}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2] / "src"), env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, "-c", CLAIM, then], env=env, text=True, stdout=subprocess.PIPE, **popen)


def test_the_default_database_lives_in_the_data_directory(tmp_path):
    settings = load_settings(data_dir=str(tmp_path / "bot-a"))
    assert settings.database_url == f"sqlite:///{tmp_path / 'bot-a' / 'ictbot.sqlite'}"
    explicit = load_settings(data_dir=str(tmp_path / "bot-a"), database_url="sqlite:////srv/shared.sqlite")
    assert explicit.database_url == "sqlite:////srv/shared.sqlite"


def test_a_second_process_running_the_same_bot_is_refused_until_the_first_stops(db_url):
    first = claim_in_another_process(db_url, "alpha", "hold", stdin=subprocess.PIPE)
    try:
        assert first.stdout.readline().strip() == "claimed"
        second = claim_in_another_process(db_url, "alpha")
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 3
        assert "bot 'alpha' already runs on this database" in out
        assert f":{first.pid}" in out and "give this bot its own bot_name" in out
        other_name = claim_in_another_process(db_url, "beta")
        assert other_name.communicate(timeout=60)[0].strip() == "claimed", "another name may share the database"
    finally:
        first.stdin.close()
        first.wait(timeout=60)
    # the holder is gone (killed, never released): its claim no longer stands in the way
    again = claim_in_another_process(db_url, "alpha")
    assert again.communicate(timeout=60)[0].strip() == "claimed"


def test_a_clean_stop_releases_the_bot(db_url):
    settings = load_settings(mode="paper", symbols=["BTCUSDT"], database_url=db_url, bot_name="alpha")
    recorder = open_bot_recorder(settings)
    recorder.start_run(settings)
    recorder.stop_run("SIGTERM")
    with recorder.engine.connect() as connection:
        assert connection.execute(text("SELECT holder FROM bots WHERE name = 'alpha'")).scalar_one() is None
    recorder.engine.dispose()


def test_two_bots_on_one_account_may_not_trade_the_same_symbol(db_url):
    alpha, beta = open_recorder(db_url, bot="alpha"), open_recorder(db_url, bot="beta")
    alpha.claim_bot(BotIdentity("alpha", "binance#0123abcd", ("BTCUSDT", "ETHUSDT")))
    with pytest.raises(BotConflict, match=r"bot 'alpha' .* already trades ETHUSDT on the same account"):
        beta.claim_bot(BotIdentity("beta", "binance#0123abcd", ("ETHUSDT", "SOLUSDT")))
    beta.claim_bot(BotIdentity("beta", "binance#0123abcd", ("SOLUSDT",)))
    beta.claim_bot(BotIdentity("beta", "binance#ffff0000", ("ETHUSDT",)))  # another account
    alpha.engine.dispose()
    beta.engine.dispose()


def test_bots_on_one_database_see_only_their_own_records_even_with_the_same_client_order_id(db_url):
    alpha, beta = open_recorder(db_url, bot="alpha"), open_recorder(db_url, bot="beta")
    intent = make_intent()
    alpha.record_intent(intent)
    assert beta.order_by_client_id(intent.client_order_id) is None
    assert beta.open_intents() == []
    beta.record_intent(make_intent(quantity="0.5"))  # the same signal on another account: its own order
    assert alpha.order_by_client_id(intent.client_order_id).intent.quantity == intent.quantity
    assert str(beta.order_by_client_id(intent.client_order_id).intent.quantity) == "0.5"
    assert [o.bot for o in alpha.open_intents() + beta.open_intents()] == ["alpha", "beta"]
    alpha.engine.dispose()
    beta.engine.dispose()
