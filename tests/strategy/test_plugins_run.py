"""A user's strategy — from a file by path, or from an installed package by entry-point name — runs in `ictbot
backtest` and in `ictbot run` (a lockstep replay with its orders on the local exchange) and makes the same
trades in both, as processes a user starts."""

import csv
import os
import sqlite3
import subprocess
import sys

import pytest
from strategy_support import KILLZONE_GAP, install_entry_point, write

from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles, write_parquet


def _ictbot(workdir, env, *args):
    done = subprocess.run(
        [sys.executable, "-m", "ictbot", *args], cwd=workdir, env=env, timeout=600,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


@pytest.mark.parametrize("how", ["path", "entry point"])
def test_user_strategy_makes_the_same_trades_in_backtest_and_replay(tmp_path, data_dir, how):
    data = tmp_path / "ETHUSDT-1m.parquet"
    write_parquet(load_candles(data_dir / "ETH_USDT_USDT-1m-futures.feather").slice(0, 3 * 1440), data)
    env = {**os.environ}
    if how == "path":
        write(tmp_path, "kz.py", KILLZONE_GAP)
        block = "strategy:\n  path: kz.py\n"
    else:
        install_entry_point(tmp_path / "site", "kzpkg", "kz_installed", KILLZONE_GAP, "KillzoneGap")
        env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), env.get("PYTHONPATH", "")])
        block = "strategy:\n  name: kz_installed\n  reward_risk: 2.0\n"
    (tmp_path / "bot.yaml").write_text(
        block + f"symbols: [ETHUSDT]\nreplay:\n  speed: 60000\n  warmup: 1\n  data: [{data}]\n"
        "  lockstep: true\napi:\n  enabled: false\n"
    )
    _ictbot(tmp_path, env, "backtest", "--config", "bot.yaml", "--data", str(data), "--out", "out")
    with (tmp_path / "out" / "trades.csv").open() as f:
        backtest = [(r["side"], r["entry_time"], r["exit_time"], r["entry_price"], r["exit_price"], r["quantity"],
                     r["exit_reason"]) for r in csv.DictReader(f)]  # fmt: skip
    _ictbot(tmp_path, env, "run", "--config", "bot.yaml")
    with sqlite3.connect(tmp_path / "ictbot-data" / "ictbot.sqlite") as db:
        rows = db.execute(
            "SELECT side, entry_time, exit_time, entry_price, exit_price, quantity, exit_reason FROM trades "
            "ORDER BY entry_time"
        ).fetchall()
    replay = [("long" if side == "BUY" else "short", iso(a), iso(b), str(p), str(x), str(q), r)
              for side, a, b, p, x, q, r in rows]  # fmt: skip
    assert len(backtest) >= 20, "the window must trade to mean something"
    assert replay == backtest
    log = (tmp_path / "ictbot-data" / "logs" / "ictbot.log").read_text()
    assert "strategy killzone_gap on 5m" in log or "strategy kz_installed on 5m" in log
