"""Benchmark: every ictbot ICT detector vs smartmoneyconcepts on the same 1m candles, plus incremental update cost
and the ``ictbot ict`` export as a whole process.

Usage: ``python bench/bench_ict.py [--candles 1000000] [--incremental 100000] [--export 13000,130000] [--skip-smc]``.
The real BTC, ETH and SOL 1m files from tests/data are concatenated and repeated (open times renumbered minute by
minute) up to ``--candles``. Prints seconds for ictbot's batch run (best of 3, after a compile warm-up), one
smartmoneyconcepts run of fvg, swing_highs_lows, bos_choch, ob and liquidity, their ratio, and the median / p99 time of
one ``IctState.update``.

The export figure: ``ictbot ict --data F --timeframe 1m --out records.parquet`` run as a whole process (best of 3) on
the small and the large count of ``--export``, and the marginal throughput between them (candles added / seconds
added, so start-up does not count); beside it, the same for a process that reads the same file with pandas, runs the
five smartmoneyconcepts functions and writes their results to Parquet (it has no command line of its own).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ictbot.data.frame import CandleFrame
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.domain import Timeframe
from ictbot.ict.batch import detect_frame
from ictbot.ict.config import IctConfig
from ictbot.ict.state import IctState

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SMC_EXPORT = """
import os, sys
os.environ.setdefault("SMC_CREDIT", "0")
import pandas as pd
from smartmoneyconcepts import smc
df = pd.read_parquet(sys.argv[1]).drop(columns="date")
swings = smc.swing_highs_lows(df, swing_length=int(sys.argv[3]))
parts = [smc.fvg(df), swings, smc.bos_choch(df, swings), smc.ob(df, swings), smc.liquidity(df, swings)]
pd.concat(parts, axis=1, keys=["fvg", "swings", "bos_choch", "ob", "liquidity"]).pipe(
    lambda d: d.set_axis(["_".join(c) for c in d.columns], axis=1)
).to_parquet(sys.argv[2])
"""


def tiled_candles(count: int) -> CandleFrame:
    parts = [load_candles(DATA / f"{s}_USDT_USDT-1m-futures.feather") for s in ("BTC", "ETH", "SOL")]
    cols = {k: np.concatenate([getattr(p, k) for p in parts]) for k in ("open", "high", "low", "close", "volume")}
    reps = -(-count // len(cols["open"]))
    cols = {k: np.tile(v, reps)[:count] for k, v in cols.items()}
    open_time = parts[0].open_time[0] + 60_000 * np.arange(count, dtype=np.int64)
    return CandleFrame(open_time, **cols, timeframe=Timeframe.M1, symbol="TILED")


def time_ictbot(frame: CandleFrame, config: IctConfig) -> tuple[float, int]:
    detect_frame(frame.slice(0, 5000), config)  # compile or load the cached kernels
    best, records = float("inf"), 0
    for _ in range(3):
        start = time.perf_counter()
        tables = detect_frame(frame, config)
        best = min(best, time.perf_counter() - start)
        records = sum(len(t) for t in tables.tables)
    return best, records


def time_smc(frame: CandleFrame, swing_length: int) -> dict[str, float]:
    os.environ.setdefault("SMC_CREDIT", "0")
    import pandas as pd
    from smartmoneyconcepts import smc

    df = pd.DataFrame({k: getattr(frame, k) for k in ("open", "high", "low", "close", "volume")})
    times = {}
    start = time.perf_counter()
    times["fvg"] = _lap(lambda: smc.fvg(df))
    swings = smc.swing_highs_lows(df, swing_length=swing_length)
    times["swing_highs_lows"] = time.perf_counter() - start - times["fvg"]
    times["bos_choch"] = _lap(lambda: smc.bos_choch(df, swings))
    times["ob"] = _lap(lambda: smc.ob(df, swings))
    times["liquidity"] = _lap(lambda: smc.liquidity(df, swings))
    return times


def _lap(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def time_incremental(frame: CandleFrame) -> np.ndarray:
    state = IctState(frame.timeframe)
    candles = list(frame.candles())
    spent = np.empty(len(candles), dtype=np.int64)
    clock = time.perf_counter_ns
    for i, candle in enumerate(candles):
        start = clock()
        state.update(candle)
        spent[i] = clock() - start
    return spent / 1000.0


def best_wall(argv: list[str], runs: int = 3) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} failed ({done.returncode}): {done.stderr[-800:]}")
    return best


def time_export(counts: list[int], swing_length: int, with_smc: bool) -> None:
    """Whole-process wall time of the export at each candle count, and the marginal throughput between the ends."""
    with tempfile.TemporaryDirectory() as tmp:
        walls: dict[str, list[float]] = {"ictbot ict --out records.parquet": []}
        if with_smc:
            walls["smartmoneyconcepts script -> parquet"] = []
        for count in counts:
            data = Path(tmp) / f"TILED-1m-{count}.parquet"
            write_parquet(tiled_candles(count), data)
            out = Path(tmp) / "records.parquet"
            ictbot = [
                sys.executable,
                "-m",
                "ictbot",
                "ict",
                "--data",
                str(data),
                "--timeframe",
                "1m",
                "--out",
                str(out),
            ]
            walls["ictbot ict --out records.parquet"].append(best_wall(ictbot))
            if with_smc:
                peer = [sys.executable, "-c", SMC_EXPORT, str(data), str(out), str(swing_length)]
                walls["smartmoneyconcepts script -> parquet"].append(best_wall(peer))
        for label, times in walls.items():
            shown = ", ".join(f"{n:,}: {t:.2f} s" for n, t in zip(counts, times, strict=True))
            marginal = (counts[-1] - counts[0]) / max(times[-1] - times[0], 1e-9)
            print(f"{label}, whole process (best of 3): {shown}; marginal {marginal:,.0f} candles/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candles", type=int, default=1_000_000)
    parser.add_argument("--incremental", type=int, default=100_000, help="candles fed to IctState one by one")
    parser.add_argument("--swing-length", type=int, default=50, help="smc swing_length; ictbot uses L−1 / L")
    parser.add_argument("--skip-smc", action="store_true")
    parser.add_argument(
        "--export", default="13000,130000", help="candle counts of the export timing, comma-separated ('' to skip)"
    )
    args = parser.parse_args()

    frame = tiled_candles(args.candles)
    length = args.swing_length
    parity = IctConfig(swing_left=length - 1, swing_right=length)
    print(f"{len(frame):,} 1m candles (BTC+ETH+SOL tiled)")
    ours, records = time_ictbot(frame, parity)
    print(f"ictbot, all detectors, swings {length - 1}/{length}: {ours:8.3f} s  ({records:,} records)")
    ours_default, records = time_ictbot(frame, IctConfig())
    print(f"ictbot, all detectors, defaults:        {ours_default:8.3f} s  ({records:,} records)")
    if not args.skip_smc:
        smc_times = time_smc(frame, length)
        total = sum(smc_times.values())
        detail = ", ".join(f"{k} {v:.2f}" for k, v in smc_times.items())
        print(f"smartmoneyconcepts (swing_length={length}): {total:8.3f} s  ({detail})")
        print(f"ratio smc / ictbot: {total / ours:,.0f}× (same swing lengths), {total / ours_default:,.0f}× (defaults)")
    spent = time_incremental(frame.slice(0, min(args.incremental, len(frame))))
    print(
        f"IctState.update, all detectors, one closed candle: median {np.median(spent):.1f} µs, "
        f"p99 {np.percentile(spent, 99):.1f} µs, mean {spent.mean():.1f} µs over {len(spent):,} candles"
    )

    if args.export:
        time_export([int(n) for n in args.export.split(",")], IctConfig().swing_right, with_smc=not args.skip_smc)


if __name__ == "__main__":
    main()
