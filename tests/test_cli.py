"""What the command line tells a user about itself."""

from __future__ import annotations

from typer.testing import CliRunner

from ictbot.cli import app


def test_run_help_names_the_replay_venue_account_not_a_paper_account():
    done = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0
    assert "funded test account" in done.output and "paper account" not in done.output
