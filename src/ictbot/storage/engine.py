"""Engines for the recorder: a SQLite file by default (WAL, foreign keys), PostgreSQL through psycopg 3 (the
``postgres`` extra), with every commit synced to disk on both."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, event, make_url
from sqlalchemy import create_engine as sqlalchemy_engine

from ictbot.errors import IctbotError

POSTGRESQL_DRIVER = "postgresql+psycopg"
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
    if parsed.get_backend_name() == "postgresql":
        return _postgresql_engine(parsed, **kwargs)
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


def _postgresql_engine(url: URL, **kwargs: Any) -> Engine:
    """``postgresql://`` means psycopg 3 here (SQLAlchemy's own default is psycopg2, which ictbot does not ship)."""
    if url.drivername == "postgresql":
        url = url.set(drivername=POSTGRESQL_DRIVER)
    if url.drivername == POSTGRESQL_DRIVER and importlib.util.find_spec("psycopg") is None:
        raise StorageError(
            f"{url.render_as_string(hide_password=True)} needs the PostgreSQL driver: pip install 'ictbot[postgres]'"
        )
    # Repeatable read: each read of several statements sees one snapshot, as SQLite's WAL readers do.
    kwargs.setdefault("isolation_level", "REPEATABLE READ")
    engine = sqlalchemy_engine(url, **kwargs)
    event.listen(engine, "connect", _postgresql_connect)
    return engine


def _postgresql_connect(dbapi_connection: Any, _record: Any) -> None:
    """A server may be configured with ``synchronous_commit=off``; the bot's commits (a sent order's intent among
    them) must still wait for the disk, so every connection asks for it."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO on")
    dbapi_connection.commit()


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


class StorageError(IctbotError):
    """A database the recorder cannot use as asked (a missing driver, a write for an order it has never seen, …)."""
