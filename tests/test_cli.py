"""What the command line tells a user about itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from ictbot.cli import app

SRC = Path(__file__).resolve().parents[1] / "src"


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
