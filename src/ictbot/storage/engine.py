"""Engines for the recorder: a SQLite file by default (WAL, foreign keys), any SQLAlchemy URL otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy import create_engine as sqlalchemy_engine

SQLITE_BUSY_TIMEOUT_S = 30
SQLITE_BEGIN_OPTION = "sqlite_begin"
# Each connection's page cache, in pages: SQLite takes its first 20 pages in one allocation when the cache is made and
# mallocs every further page one at a time. In WAL mode a connection empties its cache whenever another one has
# committed, so on a bigger cache the bot's reads freed and re-allocated pages all day, and those 4 KiB holes slowly
# grew the heap. A bigger cache bought little for that reason: pages it misses come from the operating system's file
# cache.
SQLITE_CACHE_PAGES = 20


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; for a SQLite file its directory is created and every connection uses WAL (readers never
    block the writer) and enforces foreign keys (SQLite does not by default)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sqlalchemy_engine(parsed, **kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    engine = sqlalchemy_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")  # a recorded intent must survive a power cut, not only a crash
    cursor.execute(f"PRAGMA cache_size={SQLITE_CACHE_PAGES}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Begin every transaction explicitly (the sqlite3 module would only begin before the first write, so a read of
    several statements could see several states). A writer asks for ``sqlite_begin="IMMEDIATE"`` to take the write
    lock up front: a deferred transaction that read first could not upgrade after another writer committed."""
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def redacted_url(url: str) -> str:
    """The URL as it may be logged or stored: the password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)
