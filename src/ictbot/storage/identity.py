"""Which bot a database's records belong to, and the rule that one bot name runs in one process at a time.

A bot claims its name when it starts: the claim records its account (a fingerprint of the API key, never the key), its
symbols and the process (``host:pid``). A second process under the same name is refused while the first is alive, and
so is another bot that would trade one of the same symbols on the same account. Sharing a database by design means
giving each bot its own ``bot_name``. A claim outlives a killed process only as long as it could still be alive: on the
same host its pid is checked; from another host it lapses once the bot has been silent for ``STALE_MS``.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ictbot.config import Settings
from ictbot.storage.engine import StorageError
from ictbot.storage.models import BotIdentityRecord

STALE_MS = 5 * 60_000  # a claim from another host lapses after this much silence
SIMULATED = "simulated"


class BotConflict(StorageError):
    """Another live process already runs this bot, or another bot trades the same symbols on the same account."""


@dataclass(frozen=True)
class BotIdentity:
    name: str
    account: str
    symbols: tuple[str, ...]

    @classmethod
    def of(cls, settings: Settings) -> BotIdentity:
        return cls(settings.bot_name, account_fingerprint(settings), tuple(settings.symbols))


def account_fingerprint(settings: Settings) -> str:
    """The venue and a hash of the API key: enough to tell accounts apart, useless to anyone who reads it."""
    key = settings.venue.api_key
    if key is None or settings.mode in ("backtest", "replay", "paper"):
        return SIMULATED
    venue = settings.venue.rest_url or ("testnet" if settings.venue.testnet else "binance")
    return f"{venue}#{hashlib.sha256(key.get_secret_value().encode()).hexdigest()[:16]}"


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(session: Session, identity: BotIdentity, now: int) -> None:
    """Record ``identity`` as running in this process, or raise :class:`BotConflict` saying who holds what."""
    me = this_process()
    mine = session.scalar(select(BotIdentityRecord).where(BotIdentityRecord.name == identity.name))
    if mine is not None and mine.holder not in (None, me) and _alive(mine, now):
        raise BotConflict(
            f"bot {identity.name!r} already runs on this database ({mine.holder}, last seen "
            f"{(now - mine.seen_at) / 1000:.0f} s ago). Stop it first, or give this bot its own bot_name "
            "(bots sharing a database each need one)"
        )
    if identity.account != SIMULATED:
        for other in session.scalars(select(BotIdentityRecord).where(BotIdentityRecord.name != identity.name)):
            shared = sorted(set(other.symbols) & set(identity.symbols))
            if other.account == identity.account and shared and other.holder is not None and _alive(other, now):
                raise BotConflict(
                    f"bot {other.name!r} ({other.holder}) already trades {', '.join(shared)} on the same account; "
                    "two bots on one account must trade different symbols"
                )
    if mine is None:
        mine = BotIdentityRecord(name=identity.name, started_at=now)
        session.add(mine)
    mine.account, mine.symbols, mine.holder, mine.started_at, mine.seen_at = (
        identity.account, list(identity.symbols), me, now, now,
    )  # fmt: skip


def release(session: Session, name: str) -> None:
    """This process no longer runs bot ``name`` (a clean stop)."""
    mine = session.scalar(select(BotIdentityRecord).where(BotIdentityRecord.name == name))
    if mine is not None and mine.holder == this_process():
        mine.holder = None


def touch(session: Session, name: str, now: int) -> None:
    """The bot is alive: keeps its claim from lapsing for other hosts."""
    mine = session.scalar(select(BotIdentityRecord).where(BotIdentityRecord.name == name))
    if mine is not None and mine.holder == this_process():
        mine.seen_at = max(mine.seen_at, now)


def _alive(record: BotIdentityRecord, now: int) -> bool:
    host, _, pid = (record.holder or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return now - record.seen_at < STALE_MS
