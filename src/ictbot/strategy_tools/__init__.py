"""Writing a strategy: the ``ictbot strategy`` commands and the conformance kit a strategy's own test runs.

It sits above the backtest and the settings it drives, so the strategy package below stays free of both. A
strategy's test imports ``from ictbot.strategy_tools import check_strategy``.
"""

from ictbot.lazy import lazy_exports

_HOMES = {"Check": "check", "check_strategy": "check"}

__all__ = sorted(_HOMES)

__getattr__ = lazy_exports(__name__, _HOMES, globals())
