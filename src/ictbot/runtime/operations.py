"""What running a bot needs around the engine: logs on the console and in a rotating file, and a lock so two bots
never trade from the same data directory by accident."""

from __future__ import annotations

import fcntl
import logging
import logging.handlers
import os
from pathlib import Path
from typing import IO

from ictbot.errors import ConfigError

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(data_dir: Path, level: int = logging.INFO) -> Path:
    """Console + ``<data_dir>/logs/ictbot.log`` (rotated at 10 MB, 5 kept); returns the log file's path."""
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "ictbot.log"
    formatter = logging.Formatter(LOG_FORMAT)
    console = logging.StreamHandler()
    rotating = logging.handlers.RotatingFileHandler(path, maxBytes=10_000_000, backupCount=5, encoding="utf-8")
    root = logging.getLogger()
    for handler in (console, rotating):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiohttp.access", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path


class DataDirLock:
    """An exclusive lock on ``<data_dir>/ictbot.lock``, released when the process ends however it ends."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "ictbot.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        from ictbot.runtime.preflight import check_data_dir

        check_data_dir(self.path.parent)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise ConfigError(
                f"{self.path.parent} is in use by a running ictbot (pid {owner}); stop it, or give this bot its own "
                "data_dir and database_url"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
