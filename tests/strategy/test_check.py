"""``ictbot strategy check`` passes the built-ins and a fresh template, and fails — naming the signal and the candle
that decided it — a strategy that peeks ahead, one that draws lots, and one whose backtest shortcut is wrong."""

import subprocess
import sys

import pytest
from strategy_support import KILLZONE_GAP, NONDETERMINISTIC, PEEKING, WRONG_WAKE, write
from typer.testing import CliRunner

from ictbot.backtest.runner import run_backtest
from ictbot.cli import app
from ictbot.config import load_settings
from ictbot.data.frame import iso
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.strategy_tools import check_strategy


@pytest.fixture(scope="module")
def btc(data_dir):
    return load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, 12 * 1440)


def _results(settings, frames):
    return {c.name: c for c in check_strategy(settings, frames)}


@pytest.mark.parametrize("name", ["ict_mtf", "fvg_retrace"])
def test_every_built_in_passes(btc, name):
    settings = load_settings(strategy={"name": name, **({"require_discount": False} if name == "ict_mtf" else {})})
    results = _results(settings, [btc])
    assert [c.name for c in results.values() if not c.passed] == []
    assert set(results) == {"settings", "determinism", "fast backtest == stepwise", "no lookahead"}
    assert "position actions identical" in results["fast backtest == stepwise"].detail


def test_a_strategy_that_peeks_one_candle_ahead_fails_naming_the_candle(tmp_path, btc):
    settings = load_settings(strategy={"path": str(write(tmp_path, "peek.py", PEEKING))})
    first = run_backtest(settings, [btc]).signals[0]
    results = _results(settings, [btc])
    lookahead = results["no lookahead"]
    assert not lookahead.passed
    assert lookahead.detail.startswith(
        f"signal #1, decided at {iso(first.created_at)} on BTCUSDT: the full run made it"
    )
    assert f"the run cut at {iso(first.created_at)} did not" in lookahead.detail
    assert results["determinism"].passed


def test_a_strategy_that_draws_lots_fails_determinism(tmp_path, btc):
    settings = load_settings(strategy={"path": str(write(tmp_path, "lots.py", NONDETERMINISTIC))})
    determinism = _results(settings, [btc])["determinism"]
    assert not determinism.passed
    assert determinism.detail.startswith("signal #") and "decided at 2025-05-" in determinism.detail


def test_a_wrong_wake_promise_fails_fast_equals_stepwise(tmp_path, btc):
    settings = load_settings(strategy={"path": str(write(tmp_path, "wake.py", WRONG_WAKE))})
    check = _results(settings, [btc])["fast backtest == stepwise"]
    assert not check.passed and "the stepwise run made it" in check.detail


def test_cli_check_exit_codes_and_report(tmp_path, btc):
    data = tmp_path / "BTCUSDT-1m.parquet"
    write_parquet(btc.slice(0, 5 * 1440), data)
    good = CliRunner().invoke(app, ["strategy", "check", "--path", str(write(tmp_path, "kz.py", KILLZONE_GAP)),
                                    "--data", str(data)])  # fmt: skip
    assert good.exit_code == 0, good.output
    assert "PASS no lookahead" in good.output and "FAIL" not in good.output
    bad = CliRunner().invoke(app, ["strategy", "check", "--path", str(write(tmp_path, "peek.py", PEEKING)),
                                   "--data", str(data)])  # fmt: skip
    assert bad.exit_code == 1 and "FAIL no lookahead: signal #1, decided at" in bad.output
    unknown = CliRunner().invoke(app, ["strategy", "check", "martingale"])
    assert unknown.exit_code == 2 and "unknown strategy 'martingale'; use one of fvg_retrace, ict_mtf" in unknown.output


def test_strategy_new_writes_a_template_whose_own_test_passes(tmp_path):
    made = CliRunner().invoke(app, ["strategy", "new", "ote_killzone", "--dir", str(tmp_path / "mine")])
    assert made.exit_code == 0, made.output
    assert {p.name for p in (tmp_path / "mine").iterdir()} == {"ote_killzone.py", "test_ote_killzone.py"}
    again = CliRunner().invoke(app, ["strategy", "new", "ote_killzone", "--dir", str(tmp_path / "mine")])
    assert again.exit_code == 2 and "exists" in again.output
    source, test = tmp_path / "mine" / "ote_killzone.py", tmp_path / "mine" / "test_ote_killzone.py"
    # The commands it prints and writes name the files where they are, so they work from where it was run.
    assert f"ictbot strategy check --path {source}" in made.output and f"pytest {test}" in made.output
    assert f"ictbot strategy check --path {source}`" in source.read_text()
    assert f"`pytest {test}`" in test.read_text()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "mine")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_strategy_list_shows_parameters_defaults_and_ranges():
    shown = CliRunner().invoke(app, ["strategy", "list"])
    assert shown.exit_code == 0
    assert "ict_mtf (built in): Higher-timeframe bias" in shown.output
    assert "  sweep_window_candles = 12  search: 3 … 36 step 1" in shown.output
    assert "fvg_retrace (built in)" in shown.output and "  bias_timeframe = '1h'" in shown.output
