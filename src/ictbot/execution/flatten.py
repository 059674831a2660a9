"""The kill switch without a running bot: cancel every order and close every position on the venue, then halt.

``ictbot flatten`` uses it when no bot holds the data directory (a running bot is flattened through its API instead,
so that it halts too). The halt is recorded, so the next ``ictbot run`` starts HALTED until it is resumed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ictbot.config import Settings
from ictbot.errors import ConfigError
from ictbot.execution.client import VenueClient
from ictbot.execution.orders import OrderManager
from ictbot.storage import EventKind, Recorder
from ictbot.storage.journal import JOURNAL_NAME, IntentJournal
from ictbot.storage.writer import RecordWriter
from ictbot.venues.binance import venue_connection

HALTED_PREFIX = "HALTED"


async def flatten_venue(settings: Settings, recorder: Recorder, source: str = "cli") -> dict[str, str]:
    """Close every position and cancel every order of the configured symbols (and of any symbol holding a position);
    returns what was done per symbol."""
    if settings.mode in ("replay", "paper") and settings.venue.rest_url is None:
        raise ConfigError(
            f"mode: {settings.mode} trades an account that lives inside the running bot; flatten it through the bot's "
            "API (POST /api/control/flatten) or stop the bot"
        )
    connection = venue_connection(settings)
    client = VenueClient(connection.config, demo=connection.demo)
    writer = RecordWriter("ictbot-flatten")

    def persist(method: Any, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        return asyncio.wrap_future(writer.submit(method, *args, **kwargs))

    done: dict[str, str] = {}
    journal: IntentJournal | None = None
    try:
        await client.start()
        journal = IntentJournal(settings.data_dir / JOURNAL_NAME)
        await persist(journal.restore, recorder)  # entries a crashed bot sent are known before anything is closed
        manager = OrderManager(
            client, recorder, persist, lambda fill: None, journal, settle_s=settings.execution.unknown_order_settle_s
        )
        positions = await client.positions()
        for symbol in sorted(set(settings.symbols) | set(positions)):
            held = positions.get(symbol)
            await manager.close_symbol(symbol, f"flatten by {source}", int(time.time() * 1000))
            done[symbol] = f"closed {held.quantity}" if held is not None else "no position"
        after = await client.positions()
        still = {s: p.quantity for s, p in after.items() if p.quantity != 0}
        if still:
            raise ConfigError(f"positions still open after flatten: {still}; close them on the venue")
    finally:
        await client.close()
        writer.close()
        if journal is not None:
            journal.close()
    recorder.record_event(EventKind.CONTROL, "flatten", source)
    recorder.record_event(EventKind.TRADING_STATE, f"{HALTED_PREFIX}: flattened by {source}", source)
    return done
