"""Build the configured strategy for the pipeline; the loader already failed at startup if it cannot be found."""

from __future__ import annotations

from ictbot.sdk import StrategySettings
from ictbot.strategy.host import StrategyHost
from ictbot.strategy.loader import build


def build_strategy(settings: StrategySettings) -> StrategyHost:
    return StrategyHost(build(settings))
