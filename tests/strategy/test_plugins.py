"""A strategy from a user's file or an installed package runs like a built-in; every way of getting it wrong fails at
startup with one message naming the file and the fix."""

import pytest
from strategy_support import KILLZONE_GAP, install_entry_point, write

from ictbot.backtest.runner import run_backtest, run_backtest_stepwise
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.errors import ConfigError
from ictbot.strategy import loader


@pytest.fixture(scope="module")
def btc(data_dir):
    return load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather").slice(0, 10 * 1440)


def test_a_strategy_file_by_path_backtests_with_its_own_settings(tmp_path, btc):
    path = write(tmp_path, "kz.py", KILLZONE_GAP)
    s = load_settings(strategy={"path": str(path), "reward_risk": 1.5})
    assert type(s.strategy).__name__ == "KillzoneGapSettings" and s.strategy.name == "killzone_gap"
    assert s.strategy.reward_risk == 1.5 and s.timeframes == {Timeframe.M5}
    fast = run_backtest(s, [btc])
    assert fast.trades
    assert all(sig.reason.split()[0] in ("asia", "london", "ny_am", "ny_pm") for sig in fast.signals)
    assert fast.signals == run_backtest_stepwise(s, [btc]).signals
    # A variant is built the way the optimiser builds one, and it runs.
    variant = type(s.strategy).model_validate({**s.strategy.model_dump(), "reward_risk": 3.0})
    assert run_backtest(s.model_copy(update={"strategy": variant}), [btc]).signals[0].target != fast.signals[0].target


def test_class_name_after_the_path_picks_one_of_several(tmp_path):
    source = KILLZONE_GAP + "\n\nclass Other(KillzoneGap):\n    name = 'other'\n"
    path = write(tmp_path, "two.py", source)
    with pytest.raises(ConfigError, match=r"defines 2 strategy classes \(KillzoneGap, Other\); name one with"):
        load_settings(strategy={"path": str(path)})
    assert load_settings(strategy={"path": f"{path}:Other"}).strategy.name == "other"
    with pytest.raises(ConfigError, match=r"has no class 'Missing'; it defines KillzoneGap, Other"):
        load_settings(strategy={"path": f"{path}:Missing"})


def test_a_file_that_does_not_import_names_the_file_line_and_error(tmp_path):
    path = write(tmp_path, "broken.py", "from ictbot.sdk import Strategy\n\nimport not_a_module_anywhere\n")
    with pytest.raises(ConfigError) as info:
        load_settings(strategy={"path": str(path)})
    message = str(info.value)
    assert f"'{path}' line 3: importing it failed: ModuleNotFoundError" in message and "fix the file" in message
    missing = tmp_path / "nope.py"
    with pytest.raises(ConfigError, match=r"strategy.path '.*nope.py': no such Python file"):
        load_settings(strategy={"path": str(missing)})
    plain = write(tmp_path, "plain.py", "x = 1\n")
    with pytest.raises(ConfigError, match=r"defines no Strategy subclass"):
        load_settings(strategy={"path": str(plain)})


def test_bad_settings_of_a_user_strategy_are_reported_like_any_other(tmp_path):
    path = write(tmp_path, "kz.py", KILLZONE_GAP)
    with pytest.raises(ConfigError) as info:
        load_settings(strategy={"path": str(path), "reward_risk": "lots", "rr": 2})
    message = str(info.value)
    assert "2 invalid setting(s)" in message
    assert "strategy.reward_risk: Input should be a valid number" in message
    assert "strategy.rr: unknown setting" in message


def test_unknown_name_lists_built_ins_and_installed_plugins(tmp_path, monkeypatch):
    install_entry_point(tmp_path / "site", "kzpkg", "kz_plugin", KILLZONE_GAP, "KillzoneGap")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ConfigError, match=r"unknown strategy 'martingale'; use one of fvg_retrace, ict_mtf, kz_plugin"):
        load_settings(strategy={"name": "martingale"})


def test_an_entry_point_strategy_runs_by_name(tmp_path, monkeypatch, btc):
    install_entry_point(tmp_path / "site", "kzpkg2", "kz_installed", KILLZONE_GAP, "KillzoneGap")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    s = load_settings(strategy={"name": "kz_installed"})
    assert s.strategy.name == "kz_installed" and type(s.strategy).__name__ == "KillzoneGapSettings"
    by_path = load_settings(strategy={"path": str(write(tmp_path, "kz.py", KILLZONE_GAP))})
    assert run_backtest(s, [btc]).trades == run_backtest(by_path, [btc]).trades


def test_an_entry_point_that_fails_to_import_says_which_package(tmp_path, monkeypatch):
    install_entry_point(tmp_path / "site", "badpkg", "bad", "raise RuntimeError('boom')\n", "Nothing")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ConfigError, match=r"strategy 'bad' is registered by 'badpkg:Nothing' but importing it failed: "
                       r"RuntimeError: boom; fix that package or uninstall it"):  # fmt: skip
        load_settings(strategy={"name": "bad"})
    assert "bad" in loader.known_names()
