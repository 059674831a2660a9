"""Backtest throughput: ictbot's full pipeline vs backtesting.py running a 10/20 SMA cross on the same candles.

ictbot runs its default strategy (``ict_mtf``: 5m entry, 15m and 1h bias, so 4 timeframes with the 1m base; every
ICT detector), the risk gate, simulated fills with fees and slippage, and funding from the real funding-rate and mark
files tiled along with the candles. Wall time and CPU time are both shown: the machine may be shared.

Run: python bench/bench_backtest.py [--candles 500000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import tiled_candles, tiled_funding
from ictbot.backtest.runner import run_backtest
from ictbot.config import load_settings


def bench_ictbot(frame) -> tuple[float, float, int, int]:
    settings = load_settings()
    funding = {frame.symbol: tiled_funding(len(frame))}
    settlements = len(funding[frame.symbol].times)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_backtest(settings, [frame], funding=funding)
    return time.perf_counter() - wall, time.process_time() - cpu, len(result.trades), settlements


def bench_backtesting_py(frame) -> tuple[float, float, int]:
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
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(df, SmaCross, cash=10_000_000, commission=0.0005, finalize_trades=True).run()
    return time.perf_counter() - wall, time.process_time() - cpu, int(stats["# Trades"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candles", type=int, default=500_000)
    args = parser.parse_args()
    frame = tiled_candles(args.candles)
    n = len(frame)
    print(f"{n:,} real 1m candles (BTCUSDT tiled)")
    ours, ours_cpu, our_trades, settlements = bench_ictbot(frame)
    print(
        f"ictbot ict_mtf (1m/5m/15m/1h, all detectors, risk, fills, fees, {settlements} funding times):\n"
        f"  {ours:6.2f} s wall {n / ours:12,.0f} candles/s   {ours_cpu:6.2f} s CPU {n / ours_cpu:12,.0f} candles/s"
        f"   {our_trades} trades"
    )
    again, again_cpu, _, _ = bench_ictbot(frame)
    print(
        f"  {again:6.2f} s wall {n / again:12,.0f} candles/s   {again_cpu:6.2f} s CPU {n / again_cpu:12,.0f} candles/s"
        "   second run in the process (numba kernels already loaded; not used for the ratio)"
    )
    peer, peer_cpu, peer_trades = bench_backtesting_py(frame)
    print(
        "backtesting.py 10/20 SMA cross:\n"
        f"  {peer:6.2f} s wall {n / peer:12,.0f} candles/s   {peer_cpu:6.2f} s CPU {n / peer_cpu:12,.0f} candles/s"
        f"   {peer_trades} trades"
    )
    print(f"ratio: ictbot has {peer / ours:.2f}x backtesting.py's throughput ({peer_cpu / ours_cpu:.2f}x in CPU time)")


if __name__ == "__main__":
    main()
