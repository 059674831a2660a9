"""Backtest throughput: ictbot's full pipeline vs backtesting.py running a 10/20 SMA cross on the same candles.

Run: python bench/bench_backtest.py [--candles 500000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import tiled_candles
from ictbot.backtest.runner import run_backtest
from ictbot.config import load_settings


def bench_ictbot(frame) -> tuple[float, int]:
    settings = load_settings()
    started = time.perf_counter()
    result = run_backtest(settings, [frame])
    return time.perf_counter() - started, len(result.trades)


def bench_backtesting_py(frame) -> tuple[float, int]:
    import pandas as pd
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(SMA, self.data.Close, 10)
            self.slow = self.I(SMA, self.data.Close, 20)

        def next(self):
            if crossover(self.fast, self.slow):
                self.position.close()
                self.buy()
            elif crossover(self.slow, self.fast):
                self.position.close()
                self.sell()

    df = pd.DataFrame(
        {"Open": frame.open, "High": frame.high, "Low": frame.low, "Close": frame.close, "Volume": frame.volume},
        index=pd.to_datetime(frame.open_time, unit="ms", utc=True),
    )
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(df, SmaCross, cash=10_000_000, commission=0.0005, finalize_trades=True).run()
    return time.perf_counter() - started, int(stats["# Trades"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candles", type=int, default=500_000)
    args = parser.parse_args()
    frame = tiled_candles(args.candles)
    print(f"{len(frame):,} real 1m candles (BTCUSDT tiled)")
    ours, our_trades = bench_ictbot(frame)
    print(
        f"ictbot (strategy, candle book, detectors, risk, fills, fees): {ours:8.2f} s  "
        f"{len(frame) / ours:12,.0f} candles/s  {our_trades} trades"
    )
    peer, peer_trades = bench_backtesting_py(frame)
    print(
        f"backtesting.py 10/20 SMA cross:                              {peer:8.2f} s  "
        f"{len(frame) / peer:12,.0f} candles/s  {peer_trades} trades"
    )
    print(f"ratio: ictbot is {peer / ours:.2f}x backtesting.py's throughput")


if __name__ == "__main__":
    main()
