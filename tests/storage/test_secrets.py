"""A run stores the settings it ran with, but no secret ever reaches the database file."""

from __future__ import annotations

from ictbot.config import load_settings
from ictbot.storage import EventKind, open_recorder

API_KEY = "k3y-AbCdEf0123456789-do-not-store"
API_SECRET = "s3cret-ZyXwVu9876543210-do-not-store"
DB_PASSWORD = "pg-pa55word-do-not-store"


def test_no_secret_from_the_settings_is_written_to_disk(tmp_path, clock):
    settings = load_settings(
        mode="live",
        symbols=["BTCUSDT", "ETHUSDT"],
        venue={"api_key": API_KEY, "api_secret": API_SECRET},
        api={"token": "api-t0ken-do-not-store"},
        database_url=f"postgresql://ictbot:{DB_PASSWORD}@db.example:5432/ictbot",
    )
    recorder = open_recorder(f"sqlite:///{tmp_path / 'db' / 'ictbot.sqlite'}", clock)
    recorder.start_run(settings)
    recorder.record_event(EventKind.STARTUP, "live on testnet")
    recorder.stop_run("done")

    [run] = recorder.runs()
    assert run.mode == "live"
    assert run.config["symbols"] == ["BTCUSDT", "ETHUSDT"]
    assert run.config["risk"]["leverage"] == settings.risk.leverage
    assert run.config["venue"]["api_key"] == run.config["venue"]["api_secret"] == "**********"
    assert run.config["database_url"] == "postgresql://ictbot:***@db.example:5432/ictbot"
    recorder.engine.dispose()

    files = [p for p in (tmp_path / "db").iterdir() if p.is_file()]
    assert files
    stored = b"".join(p.read_bytes() for p in files)
    assert b"db.example" in stored  # the scan reads the data it should
    for secret in (API_KEY, API_SECRET, DB_PASSWORD, "api-t0ken-do-not-store"):
        assert secret.encode() not in stored, secret
