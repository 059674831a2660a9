"""The local Binance USDT-M exchange: REST + WebSocket on loopback, replaying real candles, with faults on demand.

The server is imported on first use, so the ``ictbot`` command line starts without loading the web stack."""

from ictbot.lazy import lazy_exports

_HOMES = {"BinanceError": "errors", "LocalExchange": "server", "Credentials": "signing", "signature": "signing"}

__all__ = sorted(_HOMES)

__getattr__ = lazy_exports(__name__, _HOMES, globals())
