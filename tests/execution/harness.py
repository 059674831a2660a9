"""The fault suite's harness: a bot whose durable part is its database, crash points, and the invariants.

``Bot`` is what survives of a bot across a crash: the database (a SQLite file or a PostgreSQL database) and the intent
journal. Each ``Bot.start()`` builds a fresh client and order manager on them, as a restarted process would.
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from ictbot.config import Settings, load_settings
from ictbot.domain import Fill, OrderIntent, OrderType, Side, Signal, client_order_id
from ictbot.exchange import LocalExchange
from ictbot.execution.client import VenueClient
from ictbot.execution.orders import OrderManager
from ictbot.execution.reconcile import Reconciliation, reconcile
from ictbot.storage import Recorder, open_recorder
from ictbot.storage.journal import IntentJournal
from ictbot.storage.models import DEFAULT_BOT

DATA = Path(__file__).parent.parent / "data"
SYMBOLS = ["BTCUSDT", "ETHUSDT"]


def live_settings(exchange: LocalExchange, symbols: list[str], **extra: Any) -> Settings:
    """``mode: live`` pointed at the local exchange, with its funded account's key and secret."""
    venue = {
        "rest_url": exchange.rest_url,
        "ws_url": exchange.ws_url,
        "api_key": exchange.credentials.api_key,
        "api_secret": exchange.credentials.api_secret,
    }
    return load_settings(mode="live", symbols=symbols, venue=venue, **extra)


class Bot:
    """A bot's durable part (its database) and the live parts a restart rebuilds."""

    def __init__(
        self,
        exchange: LocalExchange,
        database: Path,
        client_type: type[VenueClient] = VenueClient,
        *,
        url: str | None = None,
        name: str = DEFAULT_BOT,
    ) -> None:
        """``database`` is the SQLite file, beside which the journal lives; ``url`` another database to use instead;
        ``name`` the bot's name in it."""
        self.exchange = exchange
        self.url = url or f"sqlite:///{database}"
        self.name = name
        self.journal_path = database.with_suffix(".journal")
        self.client_type = client_type
        self.writer = ThreadPoolExecutor(max_workers=1)
        self.fills: list[Fill] = []
        self.recorder: Recorder | None = None
        self.client: VenueClient | None = None
        self.manager: OrderManager | None = None
        self.journal: IntentJournal | None = None
        self.dead = False  # killed: nothing more reaches the disk

    async def start(self, client_type: type[VenueClient] | None = None, **options: Any) -> OrderManager:
        """``options``: the order manager's keyword options (``max_unprotected_s``, …)."""
        self.recorder = open_recorder(self.url, bot=self.name)
        self.dead = False
        self.client = (client_type or self.client_type)(self.exchange.ccxt_config())
        self.client.on_death = self._die  # type: ignore[attr-defined]
        await self.client.start()
        self.fills = []
        self.journal = IntentJournal(self.journal_path)
        self.restored: list[str] = await self.persist(self.journal.restore, self.recorder)
        self.manager = OrderManager(
            self.client, self.recorder, self.persist, self.fills.append, self.journal, settle_s=0.05,
            now_ms=lambda: int(self.exchange.replay.now), **options,
        )  # fmt: skip
        return self.manager

    def persist(self, method: Any, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        if self.dead:  # the bot's ``finally`` blocks still run as ``Killed`` unwinds; a killed process's would not
            lost: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            lost.set_exception(Killed("the process is dead: nothing more reaches the disk"))
            return lost
        return asyncio.wrap_future(self.writer.submit(method, *args, **kwargs))

    def _die(self) -> None:
        self.dead = True

    async def run_jobs(self) -> None:
        assert self.manager is not None
        while not self.manager.jobs.empty():
            await self.manager.jobs.get_nowait()()

    async def reconcile(self, *, apply_fills: bool = True, symbols: list[str] = SYMBOLS) -> Reconciliation:
        assert self.manager is not None
        return await reconcile(self.manager, symbols, apply_fills=apply_fills)

    async def crash(self) -> None:
        """What a killed process leaves: the database and the venue; nothing in memory, nothing cleaned up."""
        assert self.client is not None
        await self.client.close()
        self._close_journal()
        self.manager = self.client = self.recorder = None

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        self.writer.shutdown(wait=True)
        self._close_journal()

    def _close_journal(self) -> None:
        if self.journal is not None:
            self.journal.close()
            self.journal = None


def market_intent(exchange: LocalExchange, symbol: str = "BTCUSDT", side: Side = Side.BUY, *,
                  stop_pct: float = 1.0, target_pct: float = 1.0, quantity: str = "0.002",
                  order_type: OrderType = OrderType.MARKET, offset_pct: float = 0.0) -> OrderIntent:  # fmt: skip
    """A sized intent around the venue's current price, as the risk gate would hand it over."""
    spec_tick = Decimal("0.1") if symbol == "BTCUSDT" else Decimal("0.01")
    price = exchange.engine.mark(symbol)

    def level(pct: float) -> Decimal:
        return (price * (1 + Decimal(str(pct)) / 100)).quantize(spec_tick)

    sign = side.sign
    entry = level(-sign * offset_pct)
    stop, target = level(-sign * stop_pct), level(sign * target_pct)
    now = exchange.replay.now
    signal = Signal(symbol, side, float(entry), float(stop), float(target), int(now), "test setup", order_type)
    return OrderIntent(client_order_id(signal), symbol, side, order_type, Decimal(quantity), entry, stop, target,
                       int(now), None, signal)  # fmt: skip


class Killed(BaseException):
    """The process died at this point (a BaseException, so no ``except Exception`` in the bot can survive it)."""


def killing_client(method: str, *, after_request: bool, id_suffix: str = "") -> type[VenueClient]:
    """A client whose process dies in ``method`` (for a client id ending in ``id_suffix``), before or after the
    request reached the venue."""
    original = getattr(VenueClient, method)

    async def dying(self: VenueClient, *args: Any, **kwargs: Any) -> Any:
        cid = kwargs.get("client_order_id") or kwargs.get("client_algo_id") or (args[1] if len(args) > 1 else "")
        if not str(cid).endswith(id_suffix):
            return await original(self, *args, **kwargs)
        if after_request:
            await original(self, *args, **kwargs)
        self.on_death()
        raise Killed(f"{method} {'after' if after_request else 'before'} the request")

    return type("KillingClient", (VenueClient,), {method: dying})


def venue_state(exchange: LocalExchange) -> dict[str, Any]:
    """The venue's account as plain data: every order ever placed, open orders and algo orders, positions."""
    engine = exchange.engine
    return {
        "orders": [o.client_order_id for o in engine.orders.values()],
        "open": {o.client_order_id for o in engine.open_orders()},
        "open_algos": {a.client_algo_id: a for a in engine.open_algos()},
        "positions": {p.symbol: p.amount for p in engine.open_positions() if p.amount != 0},
    }


def assert_consistent(exchange: LocalExchange, recorder: Recorder, symbols: list[str] = SYMBOLS) -> None:
    """The crash-safety invariants: no client id twice on the venue, every position with exactly one close-position
    stop, the database's open orders are the venue's, and the booked fills add up to the venue's positions.

    With ``ICTBOT_FAULT_LOG`` set, the counts are appended there first (``bench/fault_summary.py`` tabulates them)."""
    venue = venue_state(exchange)
    duplicates = len(venue["orders"]) - len(set(venue["orders"]))
    stops = {
        symbol: [a for a in venue["open_algos"].values() if a.symbol == symbol and a.order_type == "STOP_MARKET"]
        for symbol in venue["positions"]
    }
    database_open = {o.client_order_id for o in recorder.open_intents()}
    venue_open = venue["open"] | set(venue["open_algos"])
    booked = {
        symbol: sum(
            (f.quantity if f.side == "BUY" else -f.quantity for f in recorder.fills(symbol=symbol, limit=1000)),
            Decimal(0),
        )
        for symbol in symbols
    }
    untracked = [s for s in symbols if booked[s] != venue["positions"].get(s, Decimal(0))]
    log_outcome(
        duplicates=duplicates,
        unprotected=sum(1 for found in stops.values() if len(found) != 1),
        untracked=len(untracked) + len(database_open ^ venue_open),
    )
    assert duplicates == 0, f"duplicate client ids on the venue: {venue['orders']}"
    for symbol, found in stops.items():
        assert len(found) == 1, f"{symbol} position {venue['positions'][symbol]} has {len(found)} protective stops"
        covered = found[0].close_position or (
            found[0].reduce_only and found[0].quantity >= abs(venue["positions"].get(symbol, Decimal(0)))
        )
        assert covered, f"{symbol}: the stop must close the whole position (a moved stop is reduce-only for all of it)"
    assert database_open == venue_open, f"open orders: database {database_open}, venue {venue_open}"
    assert not untracked, f"booked fills {booked} vs venue positions {venue['positions']}"


def log_outcome(**counts: int) -> None:
    path = os.environ.get("ICTBOT_FAULT_LOG")
    if path:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].rsplit(" (", 1)[0]
        with open(path, "a") as log:
            log.write(json.dumps({"fault": test, **counts}) + "\n")
