"""ictbot: ICT / smart-money-concepts trading bot for Binance USDT-M perpetual futures."""

__version__ = "0.1.0"
