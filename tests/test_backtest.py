"""The whole slice on real BTCUSDT data: trades happen, the books balance exactly, nothing looks ahead."""

import csv
import json
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ictbot.backtest.report import print_summary, summarize
from ictbot.backtest.runner import _prepare, run_backtest
from ictbot.cli import app
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles
from ictbot.domain import Side
from ictbot.kernel.pipeline import FILL_GRACE_MS, Pipeline
from ictbot.money import usdt
from ictbot.portfolio.ledger import Portfolio
from ictbot.risk.gate import RiskGate

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def btc(data_dir):
    return load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")


@pytest.fixture(scope="module")
def settings():
    """The simple FVG strategy trades often, which exercises the accounting on many trades."""
    return load_settings(strategy={"name": "fvg_retrace"})


@pytest.fixture(scope="module")
def result(btc, settings):
    return run_backtest(settings, [btc])


def test_full_btc_month_produces_trades_through_every_stage(result, btc):
    assert result.candles == len(btc) == 43_199
    assert len(result.signals) > 50
    assert len(result.trades) > 30
    assert {t.exit_reason for t in result.trades} == {"stop", "target"}
    assert {t.side for t in result.trades} == {Side.BUY, Side.SELL}
    assert result.rejections, "the 100 USDT minimum vs the 150 USDT cap rejects some BTC signals"


def test_accounting_holds_exactly(result):
    p = result.portfolio
    fees = sum((f.fee for f in p.fills), Decimal(0))
    assert p.fees == fees
    assert p.cash == p.initial_equity + p.realized - fees
    if p.open_position_count() == 0:
        assert result.final_equity == p.cash
    assert sum((t.realized for t in result.trades), Decimal(0)) == p.realized
    assert sum((t.pnl for t in result.trades), Decimal(0)) == p.realized - sum(
        (t.fees for t in result.trades), Decimal(0)
    )


def test_every_position_obeys_the_risk_cap_and_exchange_rounding(result, settings):
    spec = result.specs["BTCUSDT"]
    cap = Decimal(str(settings.risk.max_position_margin_usdt)) * settings.risk.leverage
    for fill in result.portfolio.fills:
        assert fill.quantity % spec.step_size == 0
        assert fill.price % spec.tick_size == 0
        assert fill.quantity >= spec.min_qty
    for trade in result.trades:
        assert trade.quantity * trade.entry_price <= cap
        assert trade.quantity * trade.entry_price >= spec.min_notional
    reasons = {r.reason for r in result.rejections}
    assert reasons <= {"below_min_notional", "symbol_busy", "max_open_positions", "daily_loss_limit"}


@pytest.mark.parametrize("days", [3, 9, 17, 26])
def test_no_lookahead_prefix_run_matches_full_run(btc, settings, result, days):
    """Running on history[:t] gives the same signals and fills as the full run for everything decided by t."""
    cut = int(btc.open_time[0]) + days * 24 * HOUR_MS + 7 * 60_000
    prefix = run_backtest(settings, [btc.between(None, cut)])
    assert prefix.signals == [s for s in result.signals if s.created_at <= cut]
    assert prefix.portfolio.fills == [f for f in result.portfolio.fills if f.time < cut]
    assert prefix.trades == [t for t in result.trades if t.exit_time < cut]


def test_backtest_command_writes_summary_trades_and_equity(tmp_path, data_dir):
    out = tmp_path / "run"
    args = [
        "backtest",
        "--data",
        str(data_dir / "BTC_USDT_USDT-1m-futures.feather"),
        "--from",
        "2025-05-10",
        "--to",
        "2025-05-20",
        "--out",
        str(out),
    ]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["start"] == "2025-05-10T00:00:00Z" and summary["end"] == "2025-05-20T00:00:00Z"
    assert summary["candles"] == 10 * 1440
    with (out / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["trades"] > 0
    assert set(rows[0]) >= {
        "symbol",
        "side",
        "entry_time",
        "exit_time",
        "entry_price",
        "exit_price",
        "quantity",
        "fees",
        "pnl",
        "exit_reason",
    }
    assert rows[0]["entry_time"].endswith("Z") and rows[0]["symbol"] == "BTCUSDT"
    net = Decimal(summary["final_equity"]) - Decimal(summary["initial_equity"])
    assert Decimal(summary["net_pnl"]) == net
    if summary["open_positions"] == 0:
        assert sum(Decimal(r["pnl"]) for r in rows) == net
    equity_lines = (out / "equity.csv").read_text().splitlines()
    assert equity_lines[0] == "time,equity" and len(equity_lines) == summary["candles"] + 1


def test_money_reads_to_the_cent_and_the_win_rate_as_a_percentage(result):
    summary = summarize(result)
    assert summary["win_rate_pct"] == pytest.approx(100 * summary["wins"] / summary["trades"], abs=0.005)
    assert 0 < summary["win_rate_pct"] < 100 and "win_rate" not in summary
    console = Console(width=200, record=True)
    print_summary(summary, console)
    rows = dict(re.findall(r"│ ([a-z ]+?) +│ +(.+?) │", console.export_text()))
    assert rows["final equity"] == f"{Decimal(summary['final_equity']).quantize(Decimal('0.01'))} USDT"
    assert rows["initial equity"] == "1000.00 USDT"
    for name in ("net pnl", "fees", "funding", "max drawdown", "expectancy"):
        assert re.fullmatch(r"-?\d+\.\d\d USDT", rows[name]), (name, rows[name])
    assert rows["win rate pct"] == str(summary["win_rate_pct"])


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("1004.1048020975460377082", "1004.10 USDT"),
        ("-0.535", "-0.54 USDT"),
        (Decimal("0.005"), "0.01 USDT"),
        (1000.0, "1000.00 USDT"),
        ("0", "0.00 USDT"),
    ],
)
def test_usdt_rounds_half_away_from_zero_to_the_cent(amount, shown):
    assert usdt(amount) == shown


def test_backtest_without_data_runs_on_the_bundled_sample(tmp_path):
    out = tmp_path / "run"
    done = CliRunner().invoke(app, ["backtest", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "bundled sample BTCUSDT-1m-sample.feather" in done.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["symbols"] == ["BTCUSDT"]
    assert summary["start"] == "2025-05-20T00:00:00Z" and summary["end"] == "2025-06-03T00:00:00Z"
    assert summary["candles"] == 14 * 1440


def test_backtest_on_bad_data_fails_clearly_and_writes_nothing(tmp_path):
    bad = tmp_path / "BTCUSDT-1m-bad.csv"
    bad.write_text("60000,1,2,0.5,1,1\n0,1,2,0.5,1,1\n")
    out = tmp_path / "run"
    done = CliRunner().invoke(app, ["backtest", "--data", str(bad), "--out", str(out)])
    assert done.exit_code == 2
    assert "row 2" in done.output and "sorted by open time" in done.output
    assert not out.exists()


def test_report_figures_agree_with_the_trades(result):
    from ictbot.backtest.report import summarize

    summary = summarize(result)
    trades = result.trades
    wins = [t.pnl for t in trades if t.pnl > 0]
    losses = [-t.pnl for t in trades if t.pnl < 0]
    assert summary["profit_factor"] == pytest.approx(float(sum(wins) / sum(losses)), abs=1e-4)
    assert Decimal(summary["expectancy"]) == pytest.approx(
        sum(t.pnl for t in trades) / len(trades), abs=Decimal("1e-7")
    )
    assert sum(v["trades"] for v in summary["by_side"].values()) == len(trades)
    assert sum(summary["exit_reasons"].values()) == len(trades)
    assert 0 < summary["exposure_pct"] < 100
    assert summary["max_drawdown"] > 0 and summary["max_drawdown_duration_hours"] > 0
    # A stop-out loses about 1 R plus fees and slippage; a target wins about reward_risk R.
    assert -1.5 < summary["average_r"] < 2.0


def test_funding_from_the_real_funding_files_enters_the_accounting(btc, settings, data_dir):
    from ictbot.data.funding import sibling_schedule

    schedule = sibling_schedule(data_dir / "BTC_USDT_USDT-1m-futures.feather")
    funded = run_backtest(settings, [btc], funding={"BTCUSDT": schedule})
    p = funded.portfolio
    assert funded.funded_symbols == ["BTCUSDT"]
    assert p.funding != 0
    assert (
        sum((t.funding for t in funded.trades), Decimal(0))
        + sum((t.funding for t in p.open_trades.values()), Decimal(0))
        == p.funding
    )
    assert p.cash == p.initial_equity + p.realized - p.fees + p.funding
    if p.open_position_count() == 0:
        assert funded.final_equity == p.initial_equity + sum((t.pnl for t in funded.trades), Decimal(0))


def test_a_pipeline_without_history_trades_the_same_and_holds_only_intents_that_can_still_fill(btc, settings):
    """A running bot keeps no signal, fill or closed trade in memory (its recorder has them all), and an intent only
    until its entry can no longer fill; what it trades is unchanged."""
    window = btc.slice(0, 10 * 1440)

    def pipeline(keep_history):
        pipe = _prepare(settings, [window], None).pipeline
        portfolio = Portfolio(pipe.portfolio.initial_equity, keep_history=keep_history)
        gate = RiskGate(pipe.gate.settings, pipe.gate.specs, keep_history=keep_history)
        run = Pipeline(
            ["BTCUSDT"], pipe.book.base, pipe.strategy, gate, pipe.broker, portfolio, keep_history=keep_history
        )
        closed = []
        run.listeners.append(
            SimpleNamespace(
                on_decision=lambda *_: None, on_fill=lambda _: closed.extend(filter(None, [run.last_closed]))
            )
        )
        for candle in window.candles():
            run.on_base_candle("BTCUSDT", candle)
            horizon = candle.open_time - FILL_GRACE_MS
            assert keep_history or all((i.expires_at or i.created_at) >= horizon for i in run.intents.values())
        return run, closed

    (everything, _), (running, closed) = pipeline(True), pipeline(False)
    assert len(everything.intents) > 3 and len(running.intents) < 3, "the window must outlive its intents"
    assert not running.signals and not running.portfolio.fills and not running.portfolio.closed_trades
    assert not running.gate.rejections and running.gate.last_rejection == everything.gate.rejections[-1]
    assert closed == everything.portfolio.closed_trades
    assert running.portfolio.cash == everything.portfolio.cash


def test_an_entry_goes_to_the_broker_before_anything_is_logged_or_recorded_about_it(btc, settings):
    """On the venue the broker sends the entry in that call, so listeners (logs, records) come after it."""
    window = btc.slice(0, 10 * 1440)
    pipe = _prepare(settings, [window], None).pipeline
    events: list[tuple[str, str]] = []
    submit = pipe.broker.submit

    def submitted(intent):
        events.append(("sent", intent.client_order_id))
        submit(intent)

    class Listener:
        def on_decision(self, signal, decision):
            if hasattr(decision, "client_order_id"):
                events.append(("told", decision.client_order_id))

        def on_fill(self, fill):
            pass

    pipe.broker.submit = submitted
    pipe.listeners.append(Listener())
    for candle in window.candles():
        pipe.on_base_candle("BTCUSDT", candle)
    assert len(events) >= 4, "the window must make entries to mean something"
    assert all(events[i][0] == "sent" and events[i + 1] == ("told", events[i][1]) for i in range(0, len(events), 2))
