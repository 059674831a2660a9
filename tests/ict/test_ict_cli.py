"""``ictbot ict`` exports one row per record with the common fields as columns."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest
import typer
from ict_support import DATA
from typer.testing import CliRunner

from ictbot.errors import DataError
from ictbot.ict.cli import ict_command, register

SOURCE = DATA / "SOL_USDT_USDT-1m-futures.feather"


def test_csv_export_has_one_row_per_record(tmp_path):
    out = tmp_path / "events.csv"
    counts = ict_command(SOURCE, "1h", out)
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(counts.values())
    assert list(rows[0])[:6] == ["kind", "direction", "top", "bottom", "formed_at", "known_at"]
    assert {r["kind"] for r in rows} >= {"swing", "bos", "choch", "fvg", "ob", "breaker", "pdh", "killzone"}


def test_parquet_export_matches_csv_export(tmp_path):
    counts = ict_command(SOURCE, "1h", tmp_path / "events.parquet")
    table = pq.read_table(tmp_path / "events.parquet")
    assert table.num_rows == sum(counts.values())
    assert table.column_names[:6] == ["kind", "direction", "top", "bottom", "formed_at", "known_at"]


def test_unknown_output_format_and_timeframe_are_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"\.csv or \.parquet"):
        ict_command(SOURCE, "1h", tmp_path / "events.xlsx")
    with pytest.raises(DataError, match="unknown timeframe"):
        ict_command(SOURCE, "7m", None)


def test_registered_command_prints_counts_and_fails_cleanly():
    app = typer.Typer()
    register(app)

    @app.command("other")
    def other() -> None:
        """Keeps ``ict`` a named sub-command."""

    runner = CliRunner()
    ok = runner.invoke(app, ["ict", "--data", str(SOURCE), "--timeframe", "1h"])
    assert ok.exit_code == 0 and "fvg" in ok.output
    bad = runner.invoke(app, ["ict", "--data", "missing.feather", "--timeframe", "1h"])
    assert bad.exit_code == 2
