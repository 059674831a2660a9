"""Start-up and whole-process throughput of the command line: wall time of whole ``ictbot`` processes for ``--help``,
the light commands and a small backtest; the marginal throughput of ``ictbot ict`` with its export and of
``ictbot backtest`` with its report on 13,000 vs 130,000 real 1m candles; and freqtrade's and jesse's ``--help`` from
their own virtualenvs when those are given (``--freqtrade``/``--jesse``: the path of the executable; install each in
its own venv, ``pip install freqtrade`` / ``pip install jesse``, as their dependency pins conflict with each other and
with ictbot's).

Every process runs with a bytecode cache, as an installed package has one: ``PYTHONPYCACHEPREFIX`` points at a fresh
directory (``PYTHONDONTWRITEBYTECODE`` is dropped) and each command runs once to fill it before it is timed; the
numba kernels' cache is warmed by the same run. Marginal throughput is (130,000 − 13,000) candles / (wall at 130,000 −
wall at 13,000), so start-up does not count. The candles are the real BTC 1m file of tests/data tiled end to end
(``bench/_data.py``), written as Parquet as ``ictbot download`` stores them; the backtest is the default strategy with
the default 50-run random-entry baseline, printed (``ictbot backtest``) and with the report files (``--out DIR``).

Each figure is the median of ``--runs`` runs, wall and CPU (user + system) time; the machine may be shared, so compare
figures of the same run (the load average is printed before and after). The marginal throughput is given from the
fastest run at each size and from the medians: a whole process's start-up varies by a tenth of a second from run to
run, as much as the 117,000 extra candles cost, and the fastest run is the one least disturbed by the machine.

Run: python bench/bench_cli.py [--runs 5] [--freqtrade /path/bin/freqtrade] [--jesse /path/bin/jesse]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _data import tiled_candles
from ictbot.data.loaders import write_parquet

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "src" / "ictbot" / "sample" / "BTCUSDT-1m-sample.feather"
HEAVY = ("ccxt", "optuna", "fastapi", "polars", "numba", "aiohttp", "sqlalchemy", "pandas")
SIZES = (13_000, 130_000)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_runs(argv: list[str], runs: int, cwd: Path, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of ``runs`` runs of ``argv``, after one untimed run that warms the caches."""
    walls, cpus = [], []
    for n in range(runs + 1):
        cpu, start = _children_cpu(), time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-500:]}")
        if n:
            walls.append(wall)
            cpus.append(_children_cpu() - cpu)
    return walls, cpus


def median_wall(argv: list[str], runs: int, cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``runs`` runs of ``argv``."""
    walls, cpus = timed_runs(argv, runs, cwd, env)
    return statistics.median(walls), statistics.median(cpus)


def bytecode_env(cache: Path) -> dict[str, str]:
    """The environment of an installed ictbot: this checkout's source first, bytecode cached in ``cache``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def heavy_imports_of_help(env: dict[str, str]) -> list[str]:
    """The heavy libraries ``import ictbot.cli`` loads (what ``ictbot --help`` pays for)."""
    code = f"import sys, ictbot.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _row(label: str, wall: float, cpu: float) -> None:
    print(f"{label:40s} {wall:6.2f} s  (cpu {cpu:5.2f} s)", flush=True)


def _rate(candles: int, seconds: float) -> str:
    return f"{candles / seconds:,.0f} candles/s" if seconds > 0 else "not resolved (raise --runs)"


def marginal(label: str, argv_of: dict[int, list[str]], runs: int, cwd: Path, env: dict[str, str]) -> None:
    """Wall time at each size and the candles per second the larger one adds."""
    times = {n: timed_runs(argv, runs, cwd, env) for n, argv in argv_of.items()}
    (small, (walls0, cpus0)), (large, (walls1, cpus1)) = times.items()
    shown = ", ".join(
        f"{n:,}: best {min(w):.2f} s, median {statistics.median(w):.2f} s (cpu {statistics.median(c):.2f} s)"
        for n, (w, c) in times.items()
    )
    added = large - small
    print(
        f"{label}: {shown}; marginal {_rate(added, min(walls1) - min(walls0))} (best runs), "
        f"{_rate(added, statistics.median(walls1) - statistics.median(walls0))} (medians; "
        f"cpu {_rate(added, statistics.median(cpus1) - statistics.median(cpus0))})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--freqtrade", help="freqtrade executable (its own venv)")
    parser.add_argument("--jesse", help="jesse executable (its own venv)")
    args = parser.parse_args()
    ictbot = [sys.executable, "-m", "ictbot"]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        env = bytecode_env(cwd / "pycache")
        peer_env = {**os.environ, "PYTHONPATH": env["PYTHONPATH"]}  # their venvs' own bytecode, as installed
        data = {n: cwd / f"BTCUSDT-1m-tiled-{n}.parquet" for n in SIZES}
        for n, path in data.items():
            write_parquet(tiled_candles(n), path)
        commands = {
            "ictbot --help": [*ictbot, "--help"],
            "ictbot backtest --help": [*ictbot, "backtest", "--help"],
            "ictbot data info (sample)": [*ictbot, "data", "info", str(SAMPLE)],
            "ictbot check-config (defaults)": [*ictbot, "check-config"],
            "ictbot backtest (sample, one day)": [
                *ictbot, "backtest", "--data", str(SAMPLE), "--to", "2025-05-21", "--baseline-runs", "0",
            ],
        }  # fmt: skip
        print(
            f"load average {_load()}; median of {args.runs} runs, whole processes (python -m ictbot), bytecode cached"
        )
        for label, argv in commands.items():
            _row(label, *median_wall(argv, args.runs, cwd, env))
        print(f"heavy libraries imported by ictbot --help: {', '.join(heavy_imports_of_help(env)) or 'none'}")
        out = cwd / "out"
        marginal(
            "ictbot ict --out records.parquet",
            {n: [*ictbot, "ict", "--data", str(p), "--timeframe", "1m", "--out", str(cwd / "records.parquet")]
             for n, p in data.items()},
            args.runs, cwd, env,
        )  # fmt: skip
        marginal(
            "ictbot backtest",
            {n: [*ictbot, "backtest", "--data", str(p)] for n, p in data.items()},
            args.runs,
            cwd,
            env,
        )
        marginal(
            "ictbot backtest --out DIR",
            {n: [*ictbot, "backtest", "--data", str(p), "--out", str(out)] for n, p in data.items()},
            args.runs, cwd, env,
        )  # fmt: skip
        for name, exe in (("freqtrade", args.freqtrade), ("jesse", args.jesse)):
            found = exe or shutil.which(name)
            if found is None:
                print(f"{name} --help: not measured (not installed; pass --{name} PATH to its own venv's executable)")
                continue
            _row(f"{name} --help", *median_wall([found, "--help"], args.runs, cwd, peer_env))
        print(f"load average {_load()}")


if __name__ == "__main__":
    main()
