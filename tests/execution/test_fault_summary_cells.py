"""CI's fault step runs named cells of the matrix: each name must still be a test, or the step runs nothing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _small_cells() -> list[str]:
    spec = importlib.util.spec_from_file_location("fault_summary", ROOT / "bench" / "fault_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SMALL


def test_every_cell_of_the_ci_fault_step_is_a_collected_test() -> None:
    cells = _small_cells()
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=", "-p", "no:cacheprovider", *cells],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    names = {line.strip() for line in collected.stdout.splitlines() if "::" in line}
    assert names == set(cells)
    assert any("[postgresql-" in cell for cell in cells) and any("[sqlite-" in cell for cell in cells)
