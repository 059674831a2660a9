"""`ictbot run` as a user starts it: a process with logs, a lock, a database, and a clean stop on SIGINT."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

SECRET = "s3cr3t-api-secret-for-the-scan"


def _start(workdir: Path, data_file: Path, *args: str) -> subprocess.Popen:
    config = workdir / "bot.yaml"
    config.write_text(f"replay:\n  speed: 3000\n  warmup: 300\n  data: [{data_file}]\n")
    env = {**os.environ, "ICTBOT_VENUE__API_KEY": "key-for-the-scan", "ICTBOT_VENUE__API_SECRET": SECRET}
    return subprocess.Popen(
        [sys.executable, "-m", "ictbot", "run", "--config", str(config), *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(path: Path, text: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_run_logs_the_pipeline_stops_cleanly_on_sigint_and_never_writes_secrets(tmp_path, data_dir):
    bot = _start(tmp_path, data_dir / "BTC_USDT_USDT-1m-futures.feather")
    log_file = tmp_path / "ictbot-data" / "logs" / "ictbot.log"
    _wait_for(log_file, "ready: every check passes")
    _wait_for(log_file, "5m candle")
    second = _start(tmp_path, data_dir / "BTC_USDT_USDT-1m-futures.feather")
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 2
    assert "is in use by a running ictbot" in output
    bot.send_signal(signal.SIGINT)
    output, _ = bot.communicate(timeout=60)
    assert bot.returncode == 0, output
    log_text = log_file.read_text()
    assert "stopped cleanly" in log_text and "Traceback" not in log_text
    assert "not ready" not in log_text.split("ready: every check passes")[0]  # a clean start raises no false alarm
    database = tmp_path / "ictbot-data" / "ictbot.sqlite"
    with sqlite3.connect(database) as db:
        [(stopped,)] = db.execute("SELECT stopped_at FROM runs").fetchall()
        assert stopped is not None
        assert db.execute("SELECT COUNT(*) FROM equity_snapshots").fetchone()[0] > 0
    for path in (log_file, database):
        assert SECRET.encode() not in path.read_bytes()
    assert SECRET not in output
