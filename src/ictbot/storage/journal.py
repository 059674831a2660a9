"""The intent journal: an entry's intent written to a file before the entry is sent, in microseconds.

A crash must never leave an order on the venue that the bot cannot name, and an entry should leave within a couple of
milliseconds of the candle that caused it. A database transaction through the writer thread costs several
milliseconds, and a disk sync alone costs about a millisecond under load. So the order manager appends the intent
here (one ``write``: from then on it survives any crash of the bot process), sends the entry, and the recorder writes
the intent to the database once the venue has answered, synced to disk (``synchronous=FULL``). Once the database
holds every journalled intent the journal is emptied. At the next start, :meth:`IntentJournal.restore` records any
intent only the journal has as sent, so reconciliation asks the venue about it.

Only a power cut between the send and the database's sync (the venue's answer time and one sync) can lose an intent.
The venue's order still carries the bot's client id: reconciliation cancels it if it rests, and halts trading, saying
why, if it filled.

The journal is a file of JSON lines; its writes run on the event loop, so it needs no lock.
"""

from __future__ import annotations

import logging
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from ictbot.domain import OrderIntent, OrderType, Side, Signal
from ictbot.storage.recorder import Recorder

log = logging.getLogger(__name__)

JOURNAL_NAME = "intents.journal"


class IntentJournal:
    """Append-only intents that the database may not hold yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._unrecorded: set[str] = set()

    def write(self, intent: OrderIntent) -> None:
        """Append ``intent``: in the operating system's hands, so it outlives the bot's process from here on."""
        os.write(self._fd, orjson.dumps(_encode(intent)) + b"\n")
        self._unrecorded.add(intent.client_order_id)

    def recorded(self, client_order_id: str) -> None:
        """The database now holds this intent (synced); once it holds every journalled one, the journal is emptied."""
        self._unrecorded.discard(client_order_id)
        if not self._unrecorded:
            os.ftruncate(self._fd, 0)

    def restore(self, recorder: Recorder) -> list[str]:
        """Record, as sent, every journalled intent the database lacks; return their client order ids. The journal is
        emptied afterwards. Run it before reconciling with the venue."""
        restored = []
        for intent in self._read():
            if recorder.order_by_client_id(intent.client_order_id) is None:
                recorder.record_entry_sent(intent, note="restored from the intent journal")
                restored.append(intent.client_order_id)
        self._unrecorded.clear()
        os.ftruncate(self._fd, 0)
        if restored:
            log.warning("restored %d sent entry intent(s) from %s: %s", len(restored), self.path, ", ".join(restored))
        return restored

    def close(self) -> None:
        """Idempotent: a second close must not close whatever file has since been given the same descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _read(self) -> list[OrderIntent]:
        intents = []
        lines = self.path.read_bytes().decode("utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, 1):
            try:
                intents.append(_decode(orjson.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                # A write cut short by a crash or power cut: its entry was never sent, or reconciliation settles it.
                log.warning("%s line %d is unreadable (%s); skipped", self.path, number, exc)
        return intents


def _encode(intent: OrderIntent) -> dict[str, Any]:
    signal = intent.signal
    return {
        "id": intent.client_order_id,
        "symbol": intent.symbol,
        "side": intent.side.value,
        "type": intent.order_type.value,
        "quantity": str(intent.quantity),
        "price": str(intent.price),
        "stop": str(intent.stop),
        "target": str(intent.target),
        "created_at": intent.created_at,
        "expires_at": intent.expires_at,
        # What the signal's key is made of, so the intent links to the signal if its record landed.
        "signal": [signal.entry, signal.stop, signal.target, signal.created_at, signal.reason, signal.expires_at],
    }


def _decode(row: dict[str, Any]) -> OrderIntent:
    side, order_type = Side(row["side"]), OrderType(row["type"])
    entry, stop, target, created_at, reason, expires_at = row["signal"]
    signal = Signal(row["symbol"], side, entry, stop, target, created_at, reason, order_type, expires_at)
    return OrderIntent(
        row["id"], row["symbol"], side, order_type, Decimal(row["quantity"]), Decimal(row["price"]),
        Decimal(row["stop"]), Decimal(row["target"]), row["created_at"], row["expires_at"], signal,
    )  # fmt: skip
