"""Startup checks for problems that would leave the bot useless: each fails fast, before any order can be placed,
with one line naming the setting to change (the troubleshooting page lists them)."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ictbot.errors import ConfigError
from ictbot.storage import Recorder, open_recorder
from ictbot.storage.models import DEFAULT_BOT

#: How long the startup probe waits for another process's write lock on a SQLite database before calling it locked.
DATABASE_LOCK_WAIT_S = 2.0


def check_data_dir(path: Path) -> None:
    """The data directory holds the lock, logs, journal and token: it must exist (or be creatable) and be writable."""
    probe = path / f".write-test-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"data_dir {path} is not writable ({exc.strerror or exc}); set data_dir (ICTBOT_DATA_DIR) to a directory "
            "this user can write, or fix its permissions"
        ) from None


def open_database(url: str, bot: str = DEFAULT_BOT) -> Recorder:
    """Open (and migrate) the database as ``bot``'s recorder, refusing at once one that cannot be opened or that
    another process locks."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "database_url is not a database URL; use e.g. sqlite:///ictbot-data/ictbot.sqlite (ICTBOT_DATABASE_URL)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_writable(parsed.database or "", shown)
    try:
        return open_recorder(url, bot=bot)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise ConfigError(
            f"database_url {shown} cannot be opened ({reason}); fix database_url (ICTBOT_DATABASE_URL) or the file's "
            "permissions"
        ) from None


def _check_sqlite_writable(database: str, shown: str) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if not path.exists():
        return
    try:
        connection = sqlite3.connect(path, timeout=DATABASE_LOCK_WAIT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise ConfigError(
            f"database_url {shown} cannot be opened ({exc}); fix database_url (ICTBOT_DATABASE_URL) or the file's "
            "permissions"
        ) from None
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise ConfigError(
                f"database_url {shown} is locked by another process; stop the program holding it, or give this bot "
                "its own database_url (ICTBOT_DATABASE_URL)"
            ) from None
        raise ConfigError(
            f"database_url {shown} cannot be written ({exc}); fix database_url (ICTBOT_DATABASE_URL) or the file's "
            "permissions"
        ) from None
    except sqlite3.DatabaseError as exc:
        raise ConfigError(
            f"database_url {shown} is not a usable SQLite database ({exc}); point database_url (ICTBOT_DATABASE_URL) "
            "at a new file or at the bot's own database"
        ) from None
    finally:
        connection.close()


def bind_api(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound here so a taken port stops startup instead of crashing the API stage."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"api.port {port} on {host} cannot be used ({reason}); set api.port (ICTBOT_API__PORT) to a free port, "
            "api.port: 0 for any free one, or api.enabled: false"
        ) from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def close_quietly(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
