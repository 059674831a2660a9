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


def test_export_rows_are_the_detectors_records_in_known_at_order(tmp_path):
    """The columnar export holds exactly the typed records the strategies see, field for field, null where a record
    type lacks a field or a lifecycle step was not reached."""
    from dataclasses import asdict

    from ictbot.data.loaders import load_candles
    from ictbot.ict.batch import detect_frame

    ict_command(SOURCE, "1m", tmp_path / "events.parquet")
    rows = pq.read_table(tmp_path / "events.parquet").to_pylist()
    records = detect_frame(load_candles(SOURCE)).records()
    assert len(rows) == len(records) > 10_000
    columns = list(rows[0])
    expected = [{name: asdict(r).get(name) for name in columns} for r in records]
    assert [r["known_at"] for r in rows] == sorted(r["known_at"] for r in rows)
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert [(r["known_at"], r["kind"]) for r in rows] == [(r.known_at, r.kind) for r in records]
