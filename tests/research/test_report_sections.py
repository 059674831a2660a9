"""Backtest reports say when the notional cap set the size, and carry the edge evidence."""

from __future__ import annotations

from decimal import Decimal

from typer.testing import CliRunner

from ictbot.backtest.html import sizing_note
from ictbot.backtest.report import summarize
from ictbot.backtest.runner import run_backtest
from ictbot.cli import app
from ictbot.config import Settings
from ictbot.data.loaders import load_candles


def test_the_notional_cap_is_named_when_it_set_the_size(data_dir):
    frame = load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    summary = summarize(run_backtest(Settings(symbols=["BTCUSDT"]), [frame]))
    sizing = summary["sizing"]
    # 0.5 % of 1,000 USDT would be 5 USDT; 150 USDT of BTC at ~105,000 is 0.001 BTC, risking well under 1 USDT.
    assert sizing["risk_target_usdt"] == "5.0000"
    assert sizing["capped_by_notional"] == sizing["orders"] > 0
    assert Decimal(sizing["mean_risk_usdt"]) < 1
    assert "not risk_per_trade_pct" in sizing_note(summary)


def test_backtest_report_has_the_edge_evidence_section(data_dir, tmp_path):
    data = str(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    result = CliRunner().invoke(app, ["backtest", "--data", data, "--baseline-runs", "5", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report.html").read_text()
    assert "id='edge-evidence'" in html and 'id="sizing"' in html
    assert "verdict:" in result.output
