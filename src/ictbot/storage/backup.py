"""Consistent copies of a running bot's database: SQLite's online backup (a snapshot taken page by page while the bot
keeps writing), ``pg_dump`` for PostgreSQL (one repeatable-read snapshot). A SQLite backup is itself a database a bot
can start from; a PostgreSQL dump goes back with ``pg_restore``."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import make_url

from ictbot.storage.engine import SQLITE_BUSY_TIMEOUT_S, StorageError


def backup_database(url: str, target: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``target`` (which must not exist yet) and return it."""
    if target.exists():
        raise StorageError(f"{target} already exists; choose a new backup path (a backup never overwrites a file)")
    target.parent.mkdir(parents=True, exist_ok=True)
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _backup_sqlite(parsed.database or "", target)
    elif backend == "postgresql":
        _dump_postgresql(url, target)
    else:
        raise StorageError(f"cannot back up a {backend} database; ictbot backs up SQLite and PostgreSQL")
    return target


def _backup_sqlite(database: str, target: Path) -> None:
    source_path = Path(database).expanduser()
    if not database or database == ":memory:" or not source_path.is_file():
        raise StorageError(f"there is no SQLite database file at {database or '(none)'}; check database_url")
    source = sqlite3.connect(source_path, timeout=SQLITE_BUSY_TIMEOUT_S)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        copy.close()
        target.unlink(missing_ok=True)
        raise StorageError(f"backup of {source_path} failed ({exc}); nothing was written") from None
    finally:
        source.close()
    copy.close()


def _dump_postgresql(url: str, target: Path) -> None:
    """``pg_dump`` in its custom format; the password travels in the environment, never on the command line."""
    program = shutil.which("pg_dump")
    if program is None:
        raise StorageError("pg_dump is not installed; install PostgreSQL's client tools (Debian: postgresql-client)")
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    libpq_url = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run(
        [program, "--format=custom", f"--file={target}", f"--dbname={libpq_url}"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise StorageError(f"pg_dump failed ({reason}); nothing was written")
