"""The checks between the settings and a trading bot: real money needs an explicit opt-in, and every symbol must
trade on the venue with a minimum order the risk cap can buy."""

from __future__ import annotations

import ipaddress
from decimal import Decimal
from urllib.parse import urlsplit

from ictbot.config import Settings
from ictbot.domain import Timeframe
from ictbot.errors import ConfigError
from ictbot.symbols import SymbolSpec
from ictbot.venues.binance import BinanceMarketData

BASE = Timeframe.M1


def check_live_opt_in(settings: Settings) -> None:
    """Live trading with real money needs keys and an explicit ``live.confirm: true``: on Binance's mainnet and on any
    server but one on this machine (a ``rest_url`` is trusted to be play money only when it is loopback)."""
    if settings.mode != "live":
        return
    venue = settings.venue
    if venue.api_key is None or venue.api_secret is None:
        raise ConfigError(
            "mode: live needs API keys: set ICTBOT_VENUE__API_KEY and ICTBOT_VENUE__API_SECRET (environment or .env)"
        )
    if settings.live.confirm:
        return
    if venue.rest_url is None and not venue.testnet:
        raise ConfigError(
            "mode: live with venue.testnet: false trades real money on Binance; set live.confirm: true to confirm, "
            "or keep venue.testnet: true (Binance's demo environment)"
        )
    if venue.rest_url is not None and not all(_loopback(url) for url in (venue.rest_url, venue.ws_url)):
        raise ConfigError(
            f"mode: live with venue.rest_url {venue.rest_url} may trade real money (only a server on this machine, "
            "127.0.0.1/localhost/::1, is taken for a test venue); set live.confirm: true to confirm"
        )


def _loopback(url: str | None) -> bool:
    """The URL's host is this machine (a loopback address or ``localhost``)."""
    host = urlsplit(url or "").hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def check_symbols(
    settings: Settings, market: BinanceMarketData, venue_specs: dict[str, SymbolSpec]
) -> dict[str, SymbolSpec]:
    """Every configured symbol must trade on the venue, and its minimum order must fit the risk cap."""
    s = settings
    unknown = [symbol for symbol in s.symbols if symbol not in venue_specs]
    if unknown:
        raise ConfigError(
            f"symbols: {', '.join(unknown)} not traded on the venue (USDT-M perpetuals); "
            f"check the spelling, e.g. {', '.join(sorted(venue_specs)[:5])}"
        )
    cap = Decimal(str(s.risk.max_notional_usdt))
    for symbol in s.symbols:
        spec = venue_specs[symbol]
        [last] = (await market.closed_candles(symbol, BASE, None, 2))[-1:] or [None]
        price = Decimal(str(last.close)) if last else Decimal(0)
        smallest = max(spec.min_notional, spec.min_qty * price)
        if cap < smallest:
            raise ConfigError(
                f"risk.max_position_margin_usdt × risk.leverage = {cap} USDT cannot buy the smallest {symbol} "
                f"order ({smallest:.2f} USDT at {price}); raise the margin or leverage, or remove {symbol} from "
                "symbols"
            )
    return {symbol: venue_specs[symbol] for symbol in s.symbols}
