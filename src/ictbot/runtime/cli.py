"""``ictbot flatten``: the kill switch from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ictbot.errors import ConfigError, IctbotError

if TYPE_CHECKING:
    from ictbot.config import Settings

console = Console()
errors = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command()(flatten)


def flatten(
    config: Annotated[Path | None, typer.Option("--config", help="YAML settings file.")] = None,
) -> None:
    """Cancel every order and close every position at market, then HALT trading.

    With a bot running on this data directory, it goes through that bot's API (so the bot halts too; it uses
    ICTBOT_API__TOKEN, or else the token the bot keeps in <data_dir>/control-token); otherwise straight to the venue,
    and the next `ictbot run` starts halted."""
    from ictbot import event_loop
    from ictbot.config import load_settings
    from ictbot.runtime.operations import DataDirLock
    from ictbot.storage import open_recorder

    try:
        settings = load_settings(config)
        lock = DataDirLock(settings.data_dir)
        try:
            lock.acquire()
        except ConfigError:
            console.print(_flatten_running_bot(settings), highlight=False, markup=False)
            return
        try:
            from ictbot.execution.flatten import flatten_venue

            done = event_loop.run(flatten_venue(settings, open_recorder(settings.database_url, bot=settings.bot_name)))
        finally:
            lock.release()
    except IctbotError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    for symbol, what in done.items():
        console.print(f"{symbol}: {what}", highlight=False, markup=False)
    console.print("every order cancelled, every position closed; trading is HALTED until resumed", highlight=False)


def _flatten_running_bot(settings: Settings) -> str:
    import urllib.error
    import urllib.request

    from ictbot.runtime.control_token import control_token, token_path

    api = settings.api
    token = control_token(settings, create=False)
    if token is None:
        raise ConfigError(
            f"a bot is running on this data directory; flattening it needs its API token: set ICTBOT_API__TOKEN, "
            f"or start the bot once without one so it writes {token_path(settings)}"
        )
    url = f"http://{api.host}:{api.port}/api/control/flatten"
    request = urllib.request.Request(
        url, method="POST", headers={"Authorization": f"Bearer {token.get_secret_value()}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.load(response)
    except urllib.error.HTTPError as exc:
        raise ConfigError(f"the running bot refused the flatten ({exc.code}): {exc.read().decode()[:300]}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError(f"a bot holds the data directory but its API at {url} does not answer ({exc})") from None
    return f"the running bot flattened and halted: {body}"
