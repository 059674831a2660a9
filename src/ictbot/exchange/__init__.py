"""The local Binance USDT-M exchange: REST + WebSocket on loopback, replaying real candles, with faults on demand.

The server is imported on first use, so the ``ictbot`` command line starts without loading the web stack."""

from importlib import import_module
from typing import Any

_HOMES = {"BinanceError": "errors", "LocalExchange": "server", "Credentials": "signing", "signature": "signing"}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
