"""``ictbot exchange serve``: run the local Binance USDT-M exchange on loopback until interrupted."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ictbot.errors import IctbotError

if TYPE_CHECKING:
    from ictbot.exchange.server import LocalExchange

exchange_app = typer.Typer(help="The local Binance USDT-M exchange (replays real history).", no_args_is_help=True)


@exchange_app.callback()
def exchange_group() -> None:
    """Keep ``serve`` a sub-command even while it is the only one."""


def parse_speed(text: str) -> float:
    """``"60"`` → 60× real time; ``"max"`` → as fast as possible."""
    if text.lower() in ("max", "inf"):
        return math.inf
    try:
        speed = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number or 'max'") from None
    if speed <= 0:
        raise typer.BadParameter("speed must be positive; use 'max' for as fast as possible")
    return speed


@exchange_app.command()
def serve(
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="Candle file(s); default: the bundled BTCUSDT sample.")
    ] = None,
    speed: Annotated[str, typer.Option(help="Replay speed: multiple of real time, or 'max'.")] = "60",
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0 picks a free one).")] = 8765,
    symbol: Annotated[
        str | None, typer.Option(help="Symbol of the single data file, when its name does not carry it.")
    ] = None,
    warmup: Annotated[int, typer.Option(help="Candles already closed history at start.")] = 500,
    funding: Annotated[list[Path] | None, typer.Option(help="Funding-rate file(s) (*-funding_rate.feather).")] = None,
    mark: Annotated[
        list[Path] | None, typer.Option(help="Mark-price file(s) (*-mark.feather); default: the trade price.")
    ] = None,
    balance: Annotated[str, typer.Option(help="USDT deposited into the test account.")] = "10000",
    api_key: Annotated[
        str | None,
        typer.Option(envvar="ICTBOT_EXCHANGE_API_KEY", help="The test account's API key (default: a new one)."),
    ] = None,
    api_secret: Annotated[
        str | None,
        typer.Option(envvar="ICTBOT_EXCHANGE_API_SECRET", help="Its API secret (default: a new one)."),
    ] = None,
    shift_to_now: Annotated[
        bool, typer.Option("--shift-to-now", help="Move the history so the replay starts now (for mode: live).")
    ] = False,
) -> None:
    """Serve REST (/fapi) and WebSocket (/market, /private) on 127.0.0.1, replaying the data at SPEED."""
    import time
    from decimal import Decimal, InvalidOperation

    from ictbot import event_loop
    from ictbot.exchange.signing import Credentials

    replay_speed = parse_speed(speed)
    try:
        deposit = Decimal(balance)
    except InvalidOperation:
        raise typer.BadParameter(f"--balance {balance!r} is not a number") from None
    if not data:
        from ictbot.sample import sample_path

        data, symbol = [sample_path()], symbol or "BTCUSDT"
    if (api_key is None) != (api_secret is None):
        raise typer.BadParameter("give --api-key and --api-secret together (or neither, for new ones)")
    credentials = Credentials(api_key, api_secret) if api_key and api_secret else None
    from ictbot.exchange.server import LocalExchange

    try:
        exchange = LocalExchange.from_files(
            data, symbol=symbol, funding_files=funding or (), mark_files=mark or (), warmup=warmup, port=port,
            balance=deposit, credentials=credentials, shift_to_ms=time.time_ns() // 1_000_000 if shift_to_now else None,
        )  # fmt: skip
    except (IctbotError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    try:
        event_loop.run(_serve(exchange, replay_speed, show_secret=credentials is None))
    except KeyboardInterrupt:
        typer.echo("stopped")


async def _serve(exchange: LocalExchange, speed: float, *, show_secret: bool) -> None:
    import asyncio

    await exchange.start()
    try:
        typer.echo(f"REST base URL: {exchange.rest_url}  (ccxt fapiPublic/fapiPrivate = {exchange.rest_url}/fapi/v1)")
        typer.echo(f"WebSocket base URL: {exchange.ws_url}  (market: /market/ws, user data: /private/ws)")
        typer.echo(f"Symbols: {', '.join(exchange.replay.feeds)}; speed: {speed}× ; admin: {exchange.rest_url}/admin")
        typer.echo(f"API key: {exchange.credentials.api_key}")
        typer.echo(f"API secret: {exchange.credentials.api_secret if show_secret else '(as given)'}")
        exchange.start_clock(speed)
        await exchange.wait_finished()
        typer.echo("replay finished; serving the final state until interrupted")
        await asyncio.Event().wait()
    finally:
        await exchange.stop()
