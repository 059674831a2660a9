"""``ictbot check-config`` shows the effective settings without any secret: keys and the database password."""

from __future__ import annotations

from typer.testing import CliRunner

from ictbot.cli import app

PASSWORD = "s3cr3t-db-pass"


def test_check_config_hides_the_database_password(monkeypatch) -> None:
    monkeypatch.setenv("ICTBOT_DATABASE_URL", f"postgresql://ictbot:{PASSWORD}@db.example:5432/ictbot")
    monkeypatch.setenv("ICTBOT_VENUE__API_SECRET", "venue-secret-42")
    done = CliRunner().invoke(app, ["check-config"])
    assert done.exit_code == 0, done.output
    assert PASSWORD not in done.output and "venue-secret-42" not in done.output
    assert "database_url: postgresql://ictbot:***@db.example:5432/ictbot" in done.output


def test_check_config_shows_a_url_without_password_as_it_is(monkeypatch) -> None:
    monkeypatch.setenv("ICTBOT_DATABASE_URL", "sqlite:///data/bot.sqlite")
    done = CliRunner().invoke(app, ["check-config"])
    assert "database_url: sqlite:///data/bot.sqlite" in done.output
