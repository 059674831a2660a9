"""Write detector records as a table: one row per record, the union of all record fields as columns."""

from __future__ import annotations

import csv
from dataclasses import fields
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ictbot.errors import DataError
from ictbot.ict.records import Record

LEADING = ("kind", "direction", "top", "bottom", "formed_at", "known_at")


def columns_of(records: list[Record]) -> list[str]:
    names = list(LEADING)
    for record_type in dict.fromkeys(type(r) for r in records):
        names += [f.name for f in fields(record_type) if f.name not in names]
    return names


def write_records(records: list[Record], out: Path) -> None:
    """CSV or Parquet by suffix; absent fields and lifecycle steps not reached are empty (null)."""
    names = columns_of(records)
    rows = [{name: getattr(r, name, None) for name in names} for r in records]
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with out.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=names)
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), out)
    else:
        raise DataError(f"{out}: unsupported output format; use a .csv or .parquet file name")
