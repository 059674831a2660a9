"""Run the venue, fault and SIGKILL suites many times in a row under CPU load, and count what failed.

    python bench/soak.py --suite venue|fault|sigkill|all [--runs 20] [--hogs 2] [--file tests/...] [--timeout-s 3600]

A test that passes on an idle machine and fails when the CPU is busy synchronises on machine speed, not on what it
checks; this runner finds such tests. ``--hogs`` busy processes (``python -c 'while 1: pass'``) compete for the CPU
for the whole soak and are killed when it ends. Each run is one pytest process over the suite's files (``--file``
instead: just those, e.g. to prove the runner on a small file); the checkout's own ``src`` comes first on the path.

Prints one line per run (passed, failed, wall time) and then, for every test that failed at least once, how many of
the runs it failed in. Exits 1 if any run had a failing test, an error, or did not finish within ``--timeout-s``.

The suites (files under tests/execution):

- venue: the client, the user stream, the engine and the order manager's protection and flatten on the local
  exchange;
- fault: the fault suite, the fault matrix, and the event-order properties;
- sigkill: the ``kill -9`` suites (entry placement and the stop move).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_EXECUTION = "tests/execution"
SUITES = {
    "venue": [
        f"{_EXECUTION}/{name}.py"
        for name in ("test_client", "test_user_stream", "test_engine_on_venue", "test_protection", "test_flatten")
    ],
    "fault": [f"{_EXECUTION}/{name}.py" for name in ("test_faults", "test_fault_matrix", "test_event_properties")],
    "sigkill": [f"{_EXECUTION}/{name}.py" for name in ("test_sigkill", "test_stop_move_sigkill")],
}
SUITES["all"] = [path for name in ("venue", "fault", "sigkill") for path in SUITES[name]]


@contextlib.contextmanager
def cpu_hogs(count: int) -> Iterator[None]:
    """``count`` busy processes alive for the duration of the block."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def node_id(classname: str, name: str) -> str:
    """pytest's id of a JUnit test case (``tests.execution.test_x`` + name → ``tests/execution/test_x.py::name``)."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (ROOT / path).is_file():
            return "::".join([path, *parts[cut:], name])
    return f"{classname}::{name}"


def outcomes(report: Path) -> tuple[int, list[str]]:
    """How many tests passed, and the ids of those that failed or errored, from a JUnit XML report."""
    if not report.is_file():
        return 0, []
    passed, failed = 0, []
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(node_id(case.get("classname", ""), case.get("name", "")))
        elif case.find("skipped") is None:
            passed += 1
    return passed, failed


def run_once(files: list[str], report: Path, timeout_s: float) -> tuple[int, list[str], str]:
    """One pytest run over ``files``: (passed, failed test ids, a problem beyond failing tests or "")."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *files]
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return *outcomes(report), f"did not finish within {timeout_s:.0f} s"
    passed, failed = outcomes(report)
    problem = ""
    if result.returncode != 0:
        print(result.stdout[-3000:] + result.stderr[-2000:], file=sys.stderr)
        if not failed:
            problem = f"pytest exited with {result.returncode} and no failing test (collection or usage error)"
    return passed, failed, problem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", choices=sorted(SUITES), default="all")
    parser.add_argument("--runs", type=int, default=20, help="runs in a row")
    parser.add_argument("--hogs", type=int, default=2, help="busy processes competing for the CPU")
    parser.add_argument("--file", action="append", help="run these test files instead of the suite's")
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="longest one run may take")
    args = parser.parse_args()
    if args.runs < 1 or args.hogs < 0:
        parser.error("--runs must be at least 1 and --hogs at least 0")
    files = args.file or SUITES[args.suite]
    missing = [path for path in files if not (ROOT / path).is_file()]
    if missing:
        parser.error(f"no such test file: {', '.join(missing)} (paths are relative to {ROOT})")

    failures: Counter[str] = Counter()
    bad_runs = 0
    print(f"soak: {', '.join(files)}; {args.runs} run(s) under {args.hogs} CPU hog(s)")
    with tempfile.TemporaryDirectory() as tmp, cpu_hogs(args.hogs):
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            passed, failed, problem = run_once(files, Path(tmp) / f"run-{run}.xml", args.timeout_s)
            failures.update(failed)
            bad_runs += bool(failed or problem)
            verdict = "FAIL" if failed or problem else "pass"
            note = f"; {problem}" if problem else ""
            print(
                f"run {run}/{args.runs}: {verdict}, {passed} passed, {len(failed)} failed, "
                f"{time.monotonic() - started:.0f} s{note}",
                flush=True,
            )
    if failures:
        print("\n| test | failed runs |\n|---|---|")
        for test, count in failures.most_common():
            print(f"| {test} | {count}/{args.runs} |")
    print(f"\n{args.runs - bad_runs} of {args.runs} run(s) clean under {args.hogs} CPU hog(s)")
    if bad_runs:
        sys.exit(1)


if __name__ == "__main__":
    main()
