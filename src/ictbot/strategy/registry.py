"""Build the configured strategy; an unknown name fails at startup, never silently."""

from __future__ import annotations

from ictbot.config import FvgRetraceSettings, IctMtfSettings
from ictbot.strategy.base import Strategy
from ictbot.strategy.fvg_retrace import FvgRetraceStrategy
from ictbot.strategy.ict_mtf import IctMtfStrategy


def build_strategy(settings: FvgRetraceSettings | IctMtfSettings) -> Strategy:
    if isinstance(settings, IctMtfSettings):
        return IctMtfStrategy(settings)
    return FvgRetraceStrategy(settings)
