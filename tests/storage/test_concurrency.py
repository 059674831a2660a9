"""The API reads while the engine writes: a reader never blocks the writer and always sees a consistent snapshot (WAL
on SQLite, repeatable-read transactions on PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from ictbot.storage import EventKind
from ictbot.storage.engine import SQLITE_CACHE_PAGES

from .records import T0, make_intent, make_signal


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_database_file_uses_wal_foreign_keys_and_a_bounded_page_cache(recorder):
    with recorder.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        # positive: pages. SQLite allocates a cache's first 20 pages at once (SQLITE_DEFAULT_PCACHE_INITSZ) and every
        # further one alone, so a cache of at most 20 pages never allocates again as readers empty and refill it
        assert connection.execute(text("PRAGMA cache_size")).scalar() == SQLITE_CACHE_PAGES <= 20


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_postgresql_commit_waits_for_the_disk_even_on_a_server_that_would_not(recorder, postgres_server):
    """The pre-send intent write is durable only if its commit is synced: the bot asks for it on every connection."""
    postgres_server.sql("ALTER SYSTEM SET synchronous_commit TO off")
    postgres_server.sql("SELECT pg_reload_conf()")
    try:
        recorder.engine.dispose()
        with recorder.engine.connect() as connection:
            assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
            assert connection.execute(text("SHOW transaction_isolation")).scalar() == "repeatable read"
        assert postgres_server.sql("SHOW synchronous_commit").strip() == "off"
    finally:
        postgres_server.sql("ALTER SYSTEM RESET synchronous_commit")
        postgres_server.sql("SELECT pg_reload_conf()")


def test_writer_commits_while_a_reader_holds_a_snapshot(recorder):
    recorder.record_equity(T0, Decimal("1000"))
    reader = recorder.engine.connect()
    reader_tx = reader.begin()
    before = reader.execute(text("SELECT count(*) FROM equity_snapshots")).scalar()

    errors: list[BaseException] = []

    def write() -> None:
        try:
            recorder.record_equity(T0 + 60_000, Decimal("1001"))
            recorder.record_intent(make_intent())
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join()

    assert errors == []
    still = reader.execute(text("SELECT count(*) FROM equity_snapshots")).scalar()
    reader_tx.rollback()
    reader.close()
    assert (before, still) == (1, 1)
    assert len(recorder.equity_curve()) == 2
    assert len(recorder.open_intents()) == 1


def test_reads_from_other_threads_see_only_whole_records(recorder):
    stop = threading.Event()
    seen: list[list[int]] = [[], []]
    failures: list[BaseException] = []

    def read(counts: list[int]) -> None:
        try:
            while not stop.is_set():
                orders = recorder.orders()
                counts.append(len(orders))
                assert all(o.transitions and o.intent for o in orders)
        except BaseException as exc:
            failures.append(exc)

    readers = [threading.Thread(target=read, args=(counts,)) for counts in seen]
    for thread in readers:
        thread.start()
    for i in range(50):
        recorder.record_intent(make_intent(make_signal(created_at=T0 + i * 60_000)))
        recorder.record_event(EventKind.RECONCILIATION, f"order {i}")
    stop.set()
    for thread in readers:
        thread.join()

    assert failures == []
    assert all(counts == sorted(counts) for counts in seen)
    assert len(recorder.orders()) == 50
