"""What every command module shares (the ``ictbot`` command and its sub-commands): errors, dates, symbols."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from ictbot.config import Settings
    from ictbot.data.frame import CandleFrame

errors = Console(stderr=True)


def fail(exc: Exception) -> typer.Exit:
    """The error on stderr, exit code 2: the message already says what to change."""
    errors.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=2)


def parse_date(text: str | None, option: str) -> int | None:
    """An ISO date or date-time (UTC unless it says otherwise) as epoch milliseconds."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM", param_hint=option
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def with_symbols(settings: Settings, frames: list[CandleFrame]) -> Settings:
    """The settings trading the symbols the data files carry, when they name any."""
    symbols = [f.symbol for f in frames if f.symbol]
    return settings.model_copy(update={"symbols": symbols}) if symbols else settings
