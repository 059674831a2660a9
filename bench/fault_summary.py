"""Run the fault suite and the fault matrix several times under CPU load and print one row per cell.

    python bench/fault_summary.py [--runs 20] [--hogs 2] [--small] [--check]

The matrix (tests/execution/test_fault_matrix.py) crosses every fault knob of the local exchange with every point
where the process can die during an entry; the suite (tests/execution/test_faults.py) adds its own scenarios. Per
cell: "duplicates" counts client ids found twice on the venue; "unprotected" positions without exactly one stop
after recovery; "untracked" disagreements between the database and the venue; "longest no-stop s" the longest time a
position stood without a stop, as the local exchange measured it; "stale" entry trades after the entry's expiry;
"recovery s" how long the restarted bot took to agree with the venue once the fault was over.

``--hogs`` busy processes (``python -c 'while 1: pass'``) compete for the CPU while the tests run and are killed when
they end. ``--small`` runs a few cells (the CI step); ``--check`` exits 1 unless every figure is within the promise:
0 duplicates, 0 unprotected, 0 untracked, 0 stale, no position without a stop longer than the bound (plus a second),
recovery within a minute, and no failing test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_UNPROTECTED_S = 2.0 + 1.0  # the matrix's execution.max_unprotected_s, and the second a market close may take
MAX_RECOVERY_S = 60.0
MATRIX = "tests/execution/test_fault_matrix.py"
# Cells are named [database-fault-kill point]; the small set runs on SQLite, and two of its cells on PostgreSQL too.
SMALL = [
    f"{MATRIX}::test_fault_matrix_cell[sqlite-{fault}-{kill}]"
    for fault in ("none", "three 503s", "banned (418)", "unknown status, executed")
    for kill in ("no crash", "entry sent, before its answer", "entry filled, before the stop is sent")
] + [
    f"{MATRIX}::test_fault_matrix_cell[postgresql-{fault}-entry filled, before the stop is sent]"
    for fault in ("none", "unknown status, executed")
]
COUNTS = ("duplicates", "unprotected", "untracked", "stale")
PEAKS = ("unprotected_s", "recovery_s")


def run_suite(runs: int, hogs: int, small: bool, log: Path) -> int:
    """Run the tests ``runs`` times with ``hogs`` CPU hogs alive; returns how many runs had a failing test."""
    tests = SMALL if small else [MATRIX, "tests/execution/test_faults.py"]
    hog_processes = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(hogs)]
    failed = 0
    try:
        for _ in range(runs):
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                cwd=ROOT,
                env={**os.environ, "ICTBOT_FAULT_LOG": str(log)},
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if result.returncode != 0:
                failed += 1
                print(result.stdout[-3000:] + result.stderr[-2000:], file=sys.stderr)
    finally:
        for hog in hog_processes:
            hog.kill()
            hog.wait()
    return failed


def tabulate(log: Path) -> dict[str, dict[str, float]]:
    """One row per cell: how many checks, the summed counts and the peak times."""
    rows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in log.read_text().splitlines() if log.exists() else []:
        record = json.loads(line)
        row = rows[record.pop("fault")]
        if "duplicates" in record:
            row["checks"] += 1
        for key, value in record.items():
            row[key] = max(row[key], value) if key in PEAKS else row[key] + value
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hogs", type=int, default=2, help="busy processes competing for the CPU")
    parser.add_argument("--small", action="store_true", help="a few cells of the matrix only (CI)")
    parser.add_argument("--check", action="store_true", help="exit 1 unless every figure keeps the promise")
    parser.add_argument("--log", type=Path, help="keep the raw figures here (JSON lines, appended run by run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log or Path(tmp) / "faults.jsonl"
        failed_runs = run_suite(args.runs, args.hogs, args.small, log)
        rows = tabulate(log)
    header = ("cell", "checks", *COUNTS, "longest no-stop s", "recovery s")
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for cell, row in sorted(rows.items()):
        counts = " | ".join(str(int(row[key])) for key in COUNTS)
        peaks = " | ".join(f"{row[key]:.2f}" if key in row else "-" for key in PEAKS)
        print(f"| {cell} | {int(row['checks'])} | {counts} | {peaks} |")
    totals = {key: int(sum(row[key] for row in rows.values())) for key in COUNTS}
    peaks = {key: max((row[key] for row in rows.values() if key in row), default=0.0) for key in PEAKS}
    print(
        f"\n{args.runs} run(s) under {args.hogs} CPU hog(s), {failed_runs} with a failing test; "
        + ", ".join(f"{key} {value}" for key, value in totals.items())
        + f"; longest no-stop {peaks['unprotected_s']:.2f} s (bound {MAX_UNPROTECTED_S:.0f} s); "
        f"slowest recovery {peaks['recovery_s']:.2f} s"
    )
    kept = (
        failed_runs == 0
        and rows
        and not any(totals.values())
        and peaks["unprotected_s"] <= MAX_UNPROTECTED_S
        and peaks["recovery_s"] <= MAX_RECOVERY_S
    )
    if not rows:
        print("no cell of the matrix ran: check the test ids above against `pytest --collect-only`", file=sys.stderr)
    if args.check and not kept:
        sys.exit(1)


if __name__ == "__main__":
    main()
