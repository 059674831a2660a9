"""What the command line tells a user about itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ictbot.cli import app
from ictbot.data.loaders import load_candles, write_parquet

SRC = Path(__file__).resolve().parents[1] / "src"
SAMPLE = SRC / "ictbot" / "sample" / "BTCUSDT-1m-sample.feather"


def test_run_help_names_the_replay_venue_account_not_a_paper_account():
    done = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0
    assert "funded test account" in done.output and "paper account" not in done.output


def test_importing_the_command_line_loads_none_of_the_heavy_libraries():
    """`ictbot --help` and every `ictbot <cmd> --help` pay only for what the help needs: the commands import the
    detectors' compiler, the database layer, the exchange client and the optimiser when they run."""
    heavy = ("numba", "sqlalchemy", "alembic", "ccxt", "optuna", "pandas", "pyarrow", "fastapi", "aiohttp", "ray")
    code = "import sys, ictbot.cli; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    loaded = set(done.stdout.split())
    assert "typer" in loaded, done.stdout
    assert sorted(loaded.intersection(heavy)) == []


def _modules_after(argv: list[str]) -> set[str]:
    """The modules a whole ``ictbot`` process has loaded when the command ``argv`` has run."""
    code = (
        "import sys\nfrom ictbot.cli import app\nsys.argv = ['ictbot', *sys.argv[1:]]\n"
        "try:\n    app()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())


def test_a_backtest_of_a_stored_parquet_file_loads_only_what_it_runs(tmp_path):
    """A researcher's backtest of a file as ``ictbot download`` stores it pays for no exchange client, database layer,
    optimiser, web server or live runtime, nor pandas (reading Parquet through pyarrow's dataset layer imports it)."""
    data = tmp_path / "BTCUSDT-1m.parquet"
    write_parquet(load_candles(SAMPLE), data)
    loaded = _modules_after(["backtest", "--data", str(data), "--to", "2025-05-21", "--baseline-runs", "0"])
    assert "ictbot.backtest.runner" in loaded and "numba" in loaded
    unused = ("sqlalchemy", "alembic", "ccxt", "aiohttp", "optuna", "pandas", "fastapi", "ray", "uvicorn")
    assert sorted(m for m in loaded if m.split(".")[0] in unused) == []
    assert sorted(m for m in loaded if m.startswith(("ictbot.runtime.", "ictbot.exchange.", "ictbot.storage."))) == [
        "ictbot.exchange.cli",
        "ictbot.runtime.cli",
        "ictbot.storage.cli",
    ]


def test_loading_a_command_pauses_the_collector_once_and_leaves_it_collecting():
    """The imports of a command's implementation run without the cyclic collector and are then frozen; afterwards
    the collector runs as before (garbage made later is collected) and a second command loading changes nothing."""
    code = """
import gc, weakref
from ictbot.lazy import loading_implementation
with loading_implementation():
    paused = not gc.isenabled()
    import ictbot.backtest.runner
frozen = gc.get_freeze_count()
with loading_implementation():
    again = gc.isenabled()
    import ictbot.research.evidence
class Node: pass
node = Node(); node.me = node; ref = weakref.ref(node); del node
gc.collect()
print(paused, frozen > 100_000, again, gc.get_freeze_count() <= frozen, gc.isenabled(), ref() is None)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split() == ["True"] * 6


def test_every_command_still_explains_itself():
    """The lazy imports keep each command's help: its options and its one-line summary."""
    runner = CliRunner()
    expected = {
        ("backtest",): "--baseline-runs",
        ("optimize",): "--ray",
        ("walkforward",): "--trials",
        ("download",): "--funding",
        ("ict",): "--out",
        ("db", "upgrade"): "--config",
        ("strategy", "check"): "--path",
        ("exchange",): "serve",
        ("flatten",): "HALT",
        ("data", "info"): "--symbol",
    }
    for command, text in expected.items():
        done = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert done.exit_code == 0, (command, done.output)
        assert text in done.output, (command, done.output)
