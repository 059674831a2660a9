"""The kernel reaches a broker only through the ``Broker`` port: a backtest through a broker that offers nothing else
makes the same trades, and the venue's broker never lets a backtest skip a candle."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from ictbot.backtest import runner
from ictbot.backtest.runner import run_backtest
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles
from ictbot.execution.broker import VenueBroker
from ictbot.kernel.pipeline import Broker
from ictbot.venues.simulated import SimulatedBroker

PORT = [name for name in vars(Broker) if not name.startswith("_")]


class PortOnly:
    """Exposes exactly the ``Broker`` port of the broker it wraps: any other call raises ``AttributeError``."""

    def __init__(self, inner: Broker) -> None:
        for name in PORT:
            setattr(self, name, getattr(inner, name))


@pytest.fixture(scope="module")
def btc(data_dir):
    return load_candles(data_dir / "BTC_USDT_USDT-1m-futures.feather")


def test_a_backtest_needs_nothing_of_its_broker_but_the_port(btc, monkeypatch):
    settings = load_settings(strategy={"name": "fvg_retrace"})
    direct = run_backtest(settings, [btc])
    monkeypatch.setattr(runner, "SimulatedBroker", lambda *args: typing.cast(Broker, PortOnly(SimulatedBroker(*args))))
    through_port = run_backtest(settings, [btc])
    assert len(direct.trades) > 10
    assert through_port.trades == direct.trades
    assert through_port.final_equity == direct.final_equity


def test_the_venue_broker_lets_no_candle_be_skipped():
    open_time = np.arange(0, 10 * 60_000, 60_000, dtype=np.int64)
    prices = np.full(10, 100.0)
    broker = VenueBroker(manager=typing.cast(typing.Any, None))
    assert [broker.next_action("BTCUSDT", open_time, prices, prices, i) for i in (0, 3, 9)] == [0, 3, 9]
