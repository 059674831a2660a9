"""Write detector records as a table: one row per record, the union of all record fields as columns.

The export goes from the detectors' columns straight to Arrow (no Python object per record), so ``ictbot ict`` keeps
the detectors' speed on long histories."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ictbot.errors import DataError
from ictbot.ict.batch import NOT_YET, RecordTable
from ictbot.ict.records import LIFECYCLE_FIELDS

LEADING = ("kind", "direction", "top", "bottom", "formed_at", "known_at")


def columns_of(record_types: list[type]) -> list[str]:
    names = list(LEADING)
    for record_type in dict.fromkeys(record_types):
        names += [f.name for f in fields(record_type) if f.name not in names]
    return names


def records_table(tables: tuple[RecordTable, ...] | list[RecordTable]) -> pa.Table:
    """Every record of ``tables`` as one Arrow table ordered by ``known_at`` (detector order within a time, as
    ``IctTables.records()``); a field a record type lacks, or a lifecycle step not reached, is null."""
    present = [t for t in tables if len(t)]
    names = columns_of([t.record_type for t in present])
    parts = [_arrow(table, names) for table in present]
    if not parts:
        return pa.table({name: pa.nulls(0) for name in names})
    joined = pa.concat_tables(parts, promote_options="default")
    order = np.argsort(joined["known_at"].to_numpy(), kind="stable")
    return joined.take(pa.array(order))


def _arrow(table: RecordTable, names: list[str]) -> pa.Table:
    n = len(table)
    defaults = {f.name: f.default for f in fields(table.record_type)}
    columns = {}
    for name in names:
        values = table.columns.get(name)
        if values is None:
            default = defaults.get(name, MISSING)
            columns[name] = pa.nulls(n) if default in (MISSING, None) else pa.array([default] * n)
        elif values.dtype == object:
            columns[name] = pa.array(values, type=pa.string())
        elif name in LIFECYCLE_FIELDS:
            columns[name] = pa.array(values.astype(np.int64), mask=values == NOT_YET)
        elif values.dtype.kind in "iu":
            columns[name] = pa.array(values.astype(np.int64))
        else:
            columns[name] = pa.array(values.astype(np.float64))
    return pa.table(columns)


def write_records(tables: tuple[RecordTable, ...] | list[RecordTable], out: Path) -> None:
    """CSV or Parquet by suffix; absent fields and lifecycle steps not reached are empty (null)."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise DataError(f"{out}: unsupported output format; use a .csv or .parquet file name")
    table = records_table(tables)
    if suffix == ".csv":
        pacsv.write_csv(table, out, pacsv.WriteOptions(quoting_style="none"))
    else:
        pq.write_table(table, out, use_dictionary=_few_distinct(table))


def _few_distinct(table: pa.Table) -> list[str]:
    """The columns worth dictionary-encoding: the kinds, names and directions repeat on every row, whereas prices and
    times rarely repeat, and trying a dictionary on them costs a third of the write for no smaller file."""
    return [f.name for f in table.schema if pa.types.is_string(f.type) or f.name == "direction"]
