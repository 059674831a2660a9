"""The control token: the configured ``api.token``, or one generated on first run and kept in
``<data_dir>/control-token`` (owner-only), so the kill switch works out of the box and never travels in settings."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from ictbot.config import Settings
from ictbot.errors import ConfigError

TOKEN_FILE = "control-token"


def token_path(settings: Settings) -> Path:
    return settings.data_dir / TOKEN_FILE


def control_token(settings: Settings, *, create: bool = True) -> SecretStr | None:
    """``api.token`` when set; else the data directory's token, made (mode 0600) when there is none and ``create``."""
    configured = settings.api.token
    if configured is not None and configured.get_secret_value():
        return configured
    path = token_path(settings)
    if path.exists():
        return SecretStr(path.read_text().strip())
    if not create:
        return None
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SecretStr(path.read_text().strip())
    except OSError as exc:
        raise ConfigError(f"cannot write the control token to {path} ({exc.strerror}); check data_dir") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return SecretStr(token)
