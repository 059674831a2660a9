"""What running a bot needs around the engine: logs on the console and in a rotating file (readable text, or one
JSON object per line for log collectors; configured secrets masked in both), and a lock so two bots never trade from
the same data directory by accident."""

from __future__ import annotations

import fcntl
import json
import logging
import logging.handlers
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from ictbot.config import Settings
from ictbot.errors import ConfigError

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MASK = "***"
#: Shorter values are not masked: they would blank out ordinary words and numbers, and are no secret anyway.
MIN_SECRET_CHARS = 6
#: What every LogRecord has; anything else on a record came as ``extra=`` and is written as a JSON key.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def setup_logging(
    data_dir: Path,
    level: int = logging.INFO,
    *,
    format: Literal["text", "json"] = "text",
    secrets: Iterable[str] = (),
) -> Path:
    """Console + ``<data_dir>/logs/ictbot.log`` (rotated at 10 MB, 5 kept); returns the log file's path. Every value
    in ``secrets`` is replaced by ``***`` wherever it would appear in a line, in either format."""
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "ictbot.log"
    masked = tuple(secrets)
    formatter: logging.Formatter = JsonFormatter(masked) if format == "json" else MaskingFormatter(masked, LOG_FORMAT)
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


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold (keys, tokens, the webhook URL, the database password), for the log to mask."""
    found: list[str] = []

    def walk(model: BaseModel) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
            elif isinstance(value, BaseModel):
                walk(value)

    walk(settings)
    password = urlsplit(settings.database_url).password
    if password:
        found.append(password)
    return found


class MaskingFormatter(logging.Formatter):
    """A formatter whose output never holds one of ``secrets``: each is replaced by ``***`` in the finished line."""

    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        values = {s for s in secrets if len(s) >= MIN_SECRET_CHARS}
        # Also as JSON writes them (a quote or backslash escaped); longest first, so no secret is half-masked.
        self._secrets = sorted(
            values | {json.dumps(s, ensure_ascii=False)[1:-1] for s in values}, key=len, reverse=True
        )

    def format(self, record: logging.LogRecord) -> str:
        return self.mask(super().format(record))

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


class JsonFormatter(MaskingFormatter):
    """One JSON object per line: ``time`` (ISO-8601 UTC), ``level``, ``logger``, ``message``, every field the event
    carries (``heartbeat`` with its figures, ``replay`` progress, …) as keys, and ``exception`` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line: dict[str, Any] = {
            "time": stamp.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return self.mask(json.dumps(line, default=str, ensure_ascii=False))


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
