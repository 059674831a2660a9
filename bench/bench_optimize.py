"""Optimisation throughput: trials per second of ``ictbot optimize`` vs backtesting.py's ``Backtest.optimize``.

ictbot: a study of the default strategy (``ict_mtf``, every declared range, TPE, expectancy objective) over a year of
real 1m BTCUSDT candles (the bundled month tiled) with funding, ``--jobs`` local processes, then the same study on a
local Ray cluster with as many workers. backtesting.py: ``Backtest.optimize`` of a 10/20-style SMA cross over the same
candles (its grid of fast/slow lengths, ``max_tries`` combinations). Both print wall time; the machine may be shared,
so compare the ratio measured in the same run.

Run: python bench/bench_optimize.py [--candles 525600] [--trials 200] [--jobs 2] [--peer-tries 6] [--ray]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bars would interleave with the figures

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import SMA

from _data import tiled_candles, tiled_funding
from ictbot.config import load_settings
from ictbot.research.optimize import Problem, completed, run_study


def bench_ictbot(frame, trials: int, jobs: int, ray: bool) -> tuple[float, int]:
    settings = load_settings().model_copy(update={"symbols": [frame.symbol]})
    problem = Problem(settings, [frame], ("expectancy_r",), 10, (), {frame.symbol: tiled_funding(len(frame))})
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        wall = time.perf_counter()
        study = run_study(problem, url, "bench", trials, jobs, "local" if ray else None, seed=0)
        elapsed = time.perf_counter() - wall
        return elapsed, len(completed(study))


class SmaCross(Strategy):
    """The peer's SMA cross, defined at module level: its optimiser pickles the strategy to its worker processes."""

    fast = 10
    slow = 20

    def init(self):
        self.f = self.I(SMA, self.data.Close, self.fast)
        self.s = self.I(SMA, self.data.Close, self.slow)

    def next(self):
        if crossover(self.f, self.s):
            self.position.close()
            self.buy()
        elif crossover(self.s, self.f):
            self.position.close()
            self.sell()


def bench_backtesting_py(frame, tries: int) -> tuple[float, int]:
    df = pd.DataFrame(
        {"Open": frame.open, "High": frame.high, "Low": frame.low, "Close": frame.close, "Volume": frame.volume},
        index=pd.to_datetime(frame.open_time, unit="ms", utc=True),
    )
    bt = Backtest(df, SmaCross, cash=10_000_000, commission=0.0005, finalize_trades=True)
    wall = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, heatmap = bt.optimize(
            fast=range(5, 30, 5),
            slow=range(20, 80, 10),
            constraint=lambda p: p.fast < p.slow,
            max_tries=tries,
            random_state=0,
            return_heatmap=True,
        )
    return time.perf_counter() - wall, int(heatmap.notna().sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candles", type=int, default=525_600)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--peer-tries", type=int, default=6)
    parser.add_argument("--ray", action="store_true", help="also run the study on a local Ray cluster")
    args = parser.parse_args()
    frame = tiled_candles(args.candles)
    print(f"{len(frame):,} real 1m candles (BTCUSDT tiled)", flush=True)
    ours, done = bench_ictbot(frame, args.trials, args.jobs, ray=False)
    ours_rate = done / ours
    print(f"ictbot optimize --jobs {args.jobs}: {done} trials in {ours:.1f} s = {ours_rate:.2f} trials/s", flush=True)
    peer, peer_done = bench_backtesting_py(frame, args.peer_tries)
    peer_rate = peer_done / peer
    print(f"backtesting.py Backtest.optimize: {peer_done} runs in {peer:.1f} s = {peer_rate:.3f} runs/s", flush=True)
    print(f"ratio: ictbot runs {ours_rate / peer_rate:.1f}x the trials per second of backtesting.py", flush=True)
    if args.ray:
        on_ray, ray_done = bench_ictbot(frame, args.trials, args.jobs, ray=True)
        ray_rate = ray_done / on_ray
        print(
            f"ictbot optimize --ray local ({args.jobs} workers): {ray_done} trials in {on_ray:.1f} s = "
            f"{ray_rate:.2f} trials/s, {100 * ray_rate / ours_rate:.0f} % of --jobs {args.jobs}",
            flush=True,
        )


if __name__ == "__main__":
    main()
