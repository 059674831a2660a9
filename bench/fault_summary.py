"""Run the crash-safety fault suite several times and print one row per fault: runs, duplicates, losses.

    python bench/fault_summary.py [--runs 3]

"duplicates" counts client ids found twice on the venue; "unprotected" positions without exactly one stop;
"untracked" disagreements between the database and the venue (open orders, or booked fills vs positions). Each
check runs after the fault and the restart/reconciliation that follows it (tests/execution/test_faults.py).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "faults.jsonl"
        failed_runs = 0
        for _ in range(args.runs):
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/execution/test_faults.py"],
                cwd=ROOT,
                env={**os.environ, "ICTBOT_FAULT_LOG": str(log)},
                capture_output=True,
                text=True,
            )
            failed_runs += result.returncode != 0
        rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for line in log.read_text().splitlines():
            record = json.loads(line)
            row = rows[record.pop("fault")]
            row["checks"] += 1
            for key, value in record.items():
                row[key] += value
    print("| fault | checks | duplicates | unprotected | untracked |\n|---|---|---|---|---|")
    for fault, row in sorted(rows.items()):
        print(f"| {fault} | {row['checks']} | {row['duplicates']} | {row['unprotected']} | {row['untracked']} |")
    print(f"\n{args.runs} run(s) of the suite, {failed_runs} with a failing test")


if __name__ == "__main__":
    main()
