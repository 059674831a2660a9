"""The local Binance USDT-M exchange: REST + WebSocket on loopback, replaying real candles, with faults on demand."""

from ictbot.exchange.errors import BinanceError
from ictbot.exchange.server import LocalExchange
from ictbot.exchange.signing import Credentials, signature

__all__ = ["BinanceError", "Credentials", "LocalExchange", "signature"]
