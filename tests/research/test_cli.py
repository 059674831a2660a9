"""The research commands as a user runs them: files written, best settings usable with --config, resume by name."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from ictbot.cli import app
from ictbot.config import load_settings

runner = CliRunner()


def test_optimize_writes_best_settings_usable_with_config_and_resumes(data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = str(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    args = ["optimize", "--data", data, "--to", "2025-05-20", "--trials", "6", "--min-trades", "1"]
    args += ["--baseline-runs", "5", "--study", "s", "--out", str(tmp_path / "out")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "6 completed trials" in first.output
    best = load_settings(tmp_path / "out" / "best.yaml")
    written = json.loads((tmp_path / "out" / "optimize.json").read_text())
    for name, value in written["best"]["params"].items():
        assert getattr(best.strategy, name) == value
    assert "Edge evidence" in (tmp_path / "out" / "report.html").read_text()
    again = runner.invoke(app, [*args[:6], "8", *args[7:]])
    assert again.exit_code == 0, again.output
    assert "8 completed trials" in again.output
    backtest = runner.invoke(
        app, ["backtest", "--data", data, "--to", "2025-05-20", "--config", str(tmp_path / "out" / "best.yaml")]
    )
    assert backtest.exit_code == 0, backtest.output


def test_walkforward_on_the_bundled_data(data_dir, tmp_path):
    data = str(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    result = runner.invoke(
        app,
        [
            "walkforward",
            "--data",
            data,
            "--train",
            "10d",
            "--test",
            "5d",
            "--trials",
            "3",
            "--min-trades",
            "1",
            "--baseline-runs",
            "5",
            "--storage",
            str(tmp_path / "wf.sqlite"),
            "--out",
            str(tmp_path / "wf"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "wf" / "walkforward.json").read_text())
    # 43,199 candles, a minute short of 30 days: tests end on days 15, 20 and 25; a fourth would end past the data.
    assert summary["summary"]["windows"] == 3
    assert "walk_forward_efficiency" in summary["summary"]
    assert "Edge evidence" in result.output
    assert (tmp_path / "wf" / "oos_equity.csv").read_text().startswith("time,equity\n")


def test_mismatched_symbols_and_files_are_refused(data_dir):
    data = str(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    result = runner.invoke(app, ["baseline", "--data", data, "--symbol", "BTCUSDT", "--symbol", "ETHUSDT"])
    assert result.exit_code == 2
    assert "give one --symbol per --data" in result.output


def test_best_yaml_is_plain_settings(tmp_path):
    from ictbot.config import Settings
    from ictbot.research.report import settings_yaml

    text = settings_yaml(Settings())
    assert set(yaml.safe_load(text)) == {"symbols", "strategy", "risk", "backtest"}
