"""``ictbot db``: bring the database's schema up to date, and back it up while the bot runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ictbot.errors import IctbotError

app = typer.Typer(help="Upgrade and back up the bot's database.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
ConfigOption = Annotated[Path | None, typer.Option("--config", help="YAML settings file (for database_url).")]


@app.command()
def upgrade(config: ConfigOption = None) -> None:
    """Migrate the database to this version's schema (``ictbot run`` does it too at start); safe to repeat."""
    from ictbot.config import load_settings
    from ictbot.storage.engine import redacted_url
    from ictbot.storage.migrate import upgrade_database

    try:
        settings = load_settings(config)
        before, after = upgrade_database(settings.database_url)
    except IctbotError as exc:
        raise _fail(exc) from None
    where = redacted_url(settings.database_url)
    if before == after:
        _say(f"{where}: schema already at revision {after}")
    else:
        _say(f"{where}: schema upgraded from {before or 'empty'} to {after}")


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="Where to write the backup (a new file).")],
    config: ConfigOption = None,
) -> None:
    """Write a consistent copy of the database, also while the bot runs: a SQLite file a bot can start from
    (database_url: sqlite:///PATH), or a pg_dump archive for pg_restore."""
    from ictbot.config import load_settings
    from ictbot.storage.backup import backup_database

    try:
        settings = load_settings(config)
        written = backup_database(settings.database_url, path)
    except IctbotError as exc:
        raise _fail(exc) from None
    _say(f"backup written to {written} ({written.stat().st_size} bytes)")


def _say(line: str) -> None:
    console.print(line, highlight=False, markup=False, soft_wrap=True)


def _fail(exc: IctbotError) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)
