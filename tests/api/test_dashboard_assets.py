"""The dashboard's chart library is served from the installed package without loading that package's Python side."""

from __future__ import annotations

import subprocess
import sys


def test_serving_the_chart_library_imports_neither_the_package_nor_pandas():
    # A fresh interpreter, so modules other tests imported cannot hide an import.
    code = (
        "import sys\n"
        "from ictbot.api.dashboard import chart_library\n"
        "path = chart_library()\n"
        "assert path.is_file() and path.stat().st_size > 100_000, path\n"
        "print(' '.join(m for m in ('lightweight_charts', 'pandas') if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == []
