"""The venue adapter: market data from Binance (its demo environment on testnet) or any Binance-compatible server
by URL; its market time is the wall clock the composition gives the engine."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ictbot.config import Settings
from ictbot.runtime.supervisor import StageFactory
from ictbot.venues.binance import VenueConnection, venue_connection

if TYPE_CHECKING:
    from ictbot.exchange.server import LocalExchange
    from ictbot.runtime.engine import Engine

LIVE_WARMUP_CANDLES = 1000  # closed base candles fetched by REST before trading


class VenueSource:
    """A live venue: its market never ends."""

    name = "Binance"
    speed = 1.0
    warmup_candles = LIVE_WARMUP_CANDLES
    exchange: LocalExchange | None = None
    failure: Exception | None = None

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def open(self) -> VenueConnection:
        return venue_connection(self._settings)

    def start(self) -> None:
        """Live market time runs by itself."""

    def progress(self) -> dict[str, Any] | None:
        return None

    def end_stage(self, engine: Engine, stop: asyncio.Event) -> StageFactory | None:
        return None

    async def close(self) -> None:
        """Nothing runs here: the venue is someone else's."""
