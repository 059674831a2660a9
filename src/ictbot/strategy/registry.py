"""Build the configured strategy; an unknown name fails at startup, never silently."""

from __future__ import annotations

from ictbot.config import StrategySettings
from ictbot.strategy.base import Strategy
from ictbot.strategy.fvg_retrace import FvgRetraceStrategy


def build_strategy(settings: StrategySettings) -> Strategy:
    if settings.name == "fvg_retrace":
        return FvgRetraceStrategy(settings)
    raise ValueError(f"unknown strategy {settings.name!r}")
