"""``ictbot db upgrade`` and ``ictbot db backup`` as a user runs them, and the refusal of a database whose schema is
newer than the installed ictbot."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from ictbot.cli import app
from ictbot.runtime.preflight import open_database
from ictbot.storage import create_engine, upgrade_database
from ictbot.storage.migrate import SchemaTooNew

runner = CliRunner()


def db(args: list[str], url: str, monkeypatch, tmp_path):
    monkeypatch.setenv("ICTBOT_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return runner.invoke(app, ["db", *args])


def test_db_upgrade_migrates_an_empty_database_and_then_has_nothing_to_do(db_url, monkeypatch, tmp_path):
    first = db(["upgrade"], db_url, monkeypatch, tmp_path)
    assert first.exit_code == 0, first.output
    assert "schema upgraded from empty to 0004" in first.output
    again = db(["upgrade"], db_url, monkeypatch, tmp_path)
    assert again.exit_code == 0, again.output
    assert "schema already at revision 0004" in again.output


def test_a_database_upgraded_by_a_newer_version_is_refused_at_start_and_left_untouched(db_url, monkeypatch, tmp_path):
    upgrade_database(db_url)
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(SchemaTooNew, match=r"schema revision 0099, newer than this ictbot knows \(up to 0004\)"):
        open_database(db_url)
    refused = db(["upgrade"], db_url, monkeypatch, tmp_path)
    assert refused.exit_code == 2
    assert "pip install -U ictbot" in refused.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"
    engine.dispose()


def test_db_backup_of_sqlite_is_a_complete_database_and_never_overwrites(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    upgrade_database(url)
    with sqlite3.connect(tmp_path / "live.sqlite") as live:
        live.execute("INSERT INTO bot_events (bot, time, kind, detail) VALUES ('ictbot', 1, 'control', 'pause')")
    target = tmp_path / "backups" / "monday.sqlite"
    done = db(["backup", str(target)], url, monkeypatch, tmp_path)
    assert done.exit_code == 0, done.output
    assert f"backup written to {target}" in done.output
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT detail FROM bot_events").fetchall() == [("pause",)]
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [("0004",)]
    size = target.stat().st_size
    again = db(["backup", str(target)], url, monkeypatch, tmp_path)
    assert again.exit_code == 2
    assert "already exists" in again.output
    assert target.stat().st_size == size


def test_db_backup_names_a_missing_sqlite_file(monkeypatch, tmp_path):
    done = db(["backup", str(tmp_path / "b.sqlite")], f"sqlite:///{tmp_path / 'nope.sqlite'}", monkeypatch, tmp_path)
    assert done.exit_code == 2
    assert "no SQLite database file" in done.output
    assert not (tmp_path / "b.sqlite").exists()
