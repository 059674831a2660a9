from pathlib import Path

import pytest
from typer.testing import CliRunner

from ictbot.cli import app
from ictbot.config import load_settings
from ictbot.domain import Timeframe
from ictbot.errors import ConfigError


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No stray ICTBOT_ variables or .env from the developer's machine."""
    for key in list(__import__("os").environ):
        if key.startswith("ICTBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_safe_offline_seed_values():
    s = load_settings()
    assert s.mode == "replay"
    assert s.symbols == ["BTCUSDT"]
    assert s.risk.leverage == 3
    assert s.risk.risk_per_trade_pct == 0.5
    assert s.risk.max_position_margin_usdt == 50
    assert s.risk.max_notional_usdt == 150  # margin × leverage
    assert s.risk.daily_loss_limit_usdt == 20
    assert s.api.host == "127.0.0.1"
    assert s.venue.testnet is True


def test_timeframes_are_derived_from_the_strategy_not_listed_twice(tmp_path):
    cfg = tmp_path / "c.yaml"
    assert load_settings().timeframes == {Timeframe.M5, Timeframe.M15, Timeframe.H1}
    cfg.write_text("strategy:\n  name: fvg_retrace\n  entry_timeframe: 15m\n  bias_timeframe: 4h\n")
    s = load_settings(cfg)
    assert s.timeframes == {Timeframe.M15, Timeframe.H4}
    cfg.write_text("timeframes: [5m]\n")
    with pytest.raises(ConfigError, match=r"timeframes: unknown setting"):
        load_settings(cfg)


def test_environment_overrides_yaml_and_secrets_come_from_env(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("symbols: [ethusdt, SOLUSDT]\nrisk:\n  leverage: 5\n")
    monkeypatch.setenv("ICTBOT_RISK__LEVERAGE", "4")
    monkeypatch.setenv("ICTBOT_VENUE__API_KEY", "k-123-secret-value")
    s = load_settings(cfg)
    assert s.symbols == ["ETHUSDT", "SOLUSDT"]
    assert s.risk.leverage == 4
    assert s.venue.api_key.get_secret_value() == "k-123-secret-value"
    assert "k-123-secret-value" not in repr(s) and "k-123-secret-value" not in str(s.redacted())


def test_the_environment_beats_dotenv_which_beats_yaml(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("risk:\n  leverage: 5\n  risk_per_trade_pct: 0.7\n  daily_loss_limit_usdt: 30\n")
    (tmp_path / ".env").write_text("ICTBOT_RISK__LEVERAGE=4\nICTBOT_RISK__RISK_PER_TRADE_PCT=0.6\n")
    monkeypatch.setenv("ICTBOT_RISK__LEVERAGE", "2")
    risk = load_settings(cfg).risk
    assert (risk.leverage, risk.risk_per_trade_pct, risk.daily_loss_limit_usdt) == (2, 0.6, 30)


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("ICTBOT_API__TOKEN=tok-from-dotenv\n")
    assert load_settings().api.token.get_secret_value() == "tok-from-dotenv"


def test_every_error_is_reported_at_once_with_its_path(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("strategy:\n  entry_timeframe: 7m\n  rewardrisk: 3\nrisk:\n  leverage: 0\nmode: turbo\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    text = str(info.value)
    assert "4 invalid setting(s)" in text
    assert "strategy.entry_timeframe" in text and "use one of 1m" in text
    assert "strategy.rewardrisk: unknown setting" in text
    assert "risk.leverage" in text and "1 to 125" in text
    assert "mode" in text and "backtest, replay, paper, live" in text


def test_unreachable_min_notional_is_a_config_error_naming_the_two_settings_without_the_input(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("symbols: [BTCUSDT]\nrisk:\n  max_position_margin_usdt: 20\n  leverage: 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    (line,) = str(info.value).splitlines()[1:]
    assert line == (
        "  risk.max_position_margin_usdt, risk.leverage: BTCUSDT needs orders of at least 100 USDT but "
        "risk.max_position_margin_usdt × risk.leverage allows only 60.0 USDT; raise one of them"
    )


def test_a_misspelt_key_gets_the_closest_setting_at_its_level(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "symbls: [BTCUSDT]\nrisk:\n  leverge: 2\nstrategy:\n  name: fvg_retrace\n  entry_timefrane: 5m\n"
        "api:\n  prot: 8001\nreplay:\n  xyzzy: 1\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    lines = set(str(info.value).splitlines()[1:])
    assert lines == {
        "  symbls: unknown setting; did you mean `symbols`? (got ['BTCUSDT'])",
        "  risk.leverge: unknown setting; did you mean `risk.leverage`? (got 2)",
        "  strategy.entry_timefrane: unknown setting; did you mean `strategy.entry_timeframe`? (got '5m')",
        "  api.prot: unknown setting; did you mean `api.port`? (got 8001)",
        "  replay.xyzzy: unknown setting; check the spelling against `ictbot check-config` output (got 1)",
    }


def test_bias_timeframe_must_be_longer_than_entry():
    with pytest.raises(ConfigError, match="bias_timeframe"):
        load_settings(strategy={"name": "fvg_retrace", "entry_timeframe": "1h", "bias_timeframe": "15m"})
    with pytest.raises(ConfigError, match=r"bias_timeframes \['5m'\] must be longer"):
        load_settings(strategy={"bias_timeframes": ["5m", "1h"]})
    with pytest.raises(ConfigError, match="strategy"):
        load_settings(strategy={"name": "martingale"})


def test_bad_yaml_names_the_file(tmp_path):
    cfg = tmp_path / "x.yaml"
    cfg.write_text("symbols: [BTCUSDT\n")
    with pytest.raises(ConfigError, match=r"x.yaml: not valid YAML"):
        load_settings(cfg)
    cfg.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_settings(cfg)


def test_check_config_redacts_secrets_and_exits_2_on_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("ICTBOT_VENUE__API_SECRET", "s3cr3t-never-shown")
    runner = CliRunner()
    ok = runner.invoke(app, ["check-config"])
    assert ok.exit_code == 0, ok.output
    assert "s3cr3t-never-shown" not in ok.output
    assert "api_secret: '**********'" in ok.output
    assert "derived_timeframes:\n- 5m\n- 15m\n- 1h" in ok.output
    bad = Path(tmp_path / "bad.yaml")
    bad.write_text("risk:\n  leverage: 500\n  daily_loss_limit_usdt: -1\n")
    result = runner.invoke(app, ["check-config", str(bad)])
    assert result.exit_code == 2
    assert "risk.leverage" in result.output and "risk.daily_loss_limit_usdt" in result.output
