"""The random-entry baseline tells a cheat from a coin: a strategy that peeks ahead is significant, a coin is not."""

from __future__ import annotations

import numpy as np
import pytest

from ictbot.backtest.runner import run_backtest
from ictbot.config import Settings
from ictbot.data.funding import sibling_schedule
from ictbot.data.loaders import load_candles
from ictbot.domain import Timeframe
from ictbot.research.baseline import RandomEntryStrategy, random_baseline, signal_geometries
from ictbot.research.evidence import edge_evidence

from .strategies import CoinFlipStrategy, PeekingStrategy


@pytest.fixture(scope="module")
def btc(data_dir):
    path = data_dir / "BTC_USDT_USDT-1m-futures.feather"
    frame = load_candles(path)
    return [frame], {"BTCUSDT": sibling_schedule(path)}


def test_peeking_strategy_is_flagged_significant(btc):
    frames, funding = btc
    settings = Settings(symbols=["BTCUSDT"])
    result = run_backtest(settings, frames, funding=funding, strategy=PeekingStrategy(frames[0]))
    evidence = edge_evidence(settings, frames, result, runs=40, seed=1, funding=funding)
    assert evidence["trades"] >= 30
    assert evidence["baseline"]["net_pnl"]["p_value"] == pytest.approx(1 / 41, abs=1e-4)
    assert evidence["bootstrap"]["expectancy_r"]["low"] > 0
    assert evidence["verdict"].startswith("evidence of an edge at 95 %")


def test_coin_flip_is_not_significant(btc):
    frames, funding = btc
    settings = Settings(symbols=["BTCUSDT"])
    result = run_backtest(settings, frames, funding=funding, strategy=CoinFlipStrategy(seed=3))
    evidence = edge_evidence(settings, frames, result, runs=40, seed=1, funding=funding)
    assert evidence["baseline"]["net_pnl"]["p_value"] > 0.05
    assert evidence["verdict"].startswith("no evidence of an edge at 95 %")


def test_baseline_is_reproducible_with_a_seed_and_changes_without(btc):
    frames, funding = btc
    settings = Settings(symbols=["BTCUSDT"])
    result = run_backtest(settings, frames, funding=funding, strategy=CoinFlipStrategy(seed=5))
    first = random_baseline(settings, frames, result, runs=6, seed=11, funding=funding)
    again = random_baseline(settings, frames, result, runs=6, seed=11, funding=funding)
    other = random_baseline(settings, frames, result, runs=6, seed=12, funding=funding)
    np.testing.assert_array_equal(first.net_pnl, again.net_pnl)
    np.testing.assert_array_equal(first.mean_r, again.mean_r)
    assert not np.array_equal(first.net_pnl, other.net_pnl)


def test_random_entries_keep_the_strategys_count_and_geometry(btc):
    frames, _ = btc
    settings = Settings(symbols=["BTCUSDT"])
    result = run_backtest(settings, frames, strategy=CoinFlipStrategy(seed=5))
    geometries = signal_geometries(result, frames)
    strategy = RandomEntryStrategy(Timeframe.H1, geometries, np.random.default_rng(0))
    baseline = run_backtest(settings, frames, strategy=strategy)
    assert len(baseline.signals) == len(result.signals)
    for signal in baseline.signals:
        assert abs(signal.entry - signal.stop) / signal.entry == pytest.approx(0.005)
        assert abs(signal.target - signal.entry) / signal.entry == pytest.approx(0.01)
    sides = {s.side for s in baseline.signals}
    assert len(sides) == 2
