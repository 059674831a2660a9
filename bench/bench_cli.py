"""Start-up of the command line: wall time of whole ``ictbot`` processes for ``--help`` and light commands, and of
freqtrade's and jesse's ``--help`` from their own virtualenvs when those are given (``--freqtrade``/``--jesse``: the
path of the executable; install each in its own venv, ``pip install freqtrade`` / ``pip install jesse``, as their
dependency pins conflict with each other and with ictbot's).

Each figure is the median of ``--runs`` runs; the machine may be shared, so compare figures of the same run.

Run: python bench/bench_cli.py [--runs 5] [--freqtrade /path/bin/freqtrade] [--jesse /path/bin/jesse]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "src" / "ictbot" / "sample" / "BTCUSDT-1m-sample.feather"
HEAVY = ("ccxt", "optuna", "fastapi", "polars", "numba", "aiohttp", "sqlalchemy", "pandas")


def median_wall(argv: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=_env())
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-500:]}")
    return statistics.median(times)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


def heavy_imports_of_help() -> list[str]:
    """The heavy libraries ``import ictbot.cli`` loads (what ``ictbot --help`` pays for)."""
    code = f"import sys, ictbot.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--freqtrade", help="freqtrade executable (its own venv)")
    parser.add_argument("--jesse", help="jesse executable (its own venv)")
    args = parser.parse_args()
    ictbot = [sys.executable, "-m", "ictbot"]
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        commands = {
            "ictbot --help": [*ictbot, "--help"],
            "ictbot backtest --help": [*ictbot, "backtest", "--help"],
            "ictbot data info (sample)": [*ictbot, "data", "info", str(SAMPLE)],
            "ictbot check-config (defaults)": [*ictbot, "check-config"],
            "ictbot backtest (sample, one day)": [
                *ictbot, "backtest", "--data", str(SAMPLE), "--to", "2025-05-21", "--baseline-runs", "0",
            ],
        }  # fmt: skip
        print(f"median of {args.runs} runs, whole processes (python -m ictbot)", flush=True)
        for label, argv in commands.items():
            print(f"{label:36s} {median_wall(argv, args.runs, cwd):6.2f} s", flush=True)
        print(f"heavy libraries imported by ictbot --help: {', '.join(heavy_imports_of_help()) or 'none'}")
        for name, exe in (("freqtrade", args.freqtrade), ("jesse", args.jesse)):
            found = exe or shutil.which(name)
            if found is None:
                print(f"{name} --help: not measured (not installed; pass --{name} PATH to its own venv's executable)")
                continue
            print(f"{name + ' --help':36s} {median_wall([found, '--help'], args.runs, cwd):6.2f} s", flush=True)


if __name__ == "__main__":
    main()
