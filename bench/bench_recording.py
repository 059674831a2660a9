"""Equity snapshots a second the bot's writer gets to disk: a fast replay records one per candle, faster than one ORM
write each can keep up with.

Both paths record ``--points`` snapshots (one a minute of market time, so the day rows roll over too) through the
engine's ``Recording`` into a fresh SQLite file, as fast as the caller can queue them, and time from the first point
until the writer has committed the last (``Engine.records_written``'s wait):

* one by one: a routine write per point (``Recorder.record_equity``), queued writes committed up to 50 together;
* buffered: ``Recording.record_equity``, each write taking every point buffered since the last (one transaction,
  ``Recorder.record_equity_many``).

Each figure is the median of ``--runs`` runs; the machine may be shared, so compare figures of the same run (the load
average is printed before and after).

Run: python bench/bench_recording.py [--points 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from ictbot.config import load_settings
from ictbot.kernel.samples import Samples
from ictbot.runtime.counters import Counters
from ictbot.runtime.recording import Recording
from ictbot.storage import BotIdentity, Recorder, open_recorder

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000


def one_by_one(recording: Recording, recorder: Recorder) -> Callable[[int, Decimal], None]:
    return lambda time, equity: recording.record(recorder.record_equity, time, equity)


def buffered(recording: Recording, _recorder: Recorder) -> Callable[[int, Decimal], None]:
    return recording.record_equity


def seconds_to_write(path: Callable[[Recording, Recorder], Callable[[int, Decimal], None]], points: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(mode="replay", symbols=["BTCUSDT"], data_dir=tmp)
        recorder = open_recorder(f"sqlite:///{Path(tmp) / 'ictbot.sqlite'}")
        recorder.claim_bot(BotIdentity.of(settings))
        recorder.start_run(settings)
        recording = Recording(recorder, Counters(), Samples(8))
        record = path(recording, recorder)
        equity = [(T0 + i * MINUTE, Decimal(10_000) + Decimal(i) / 100) for i in range(points)]
        started = time.perf_counter()
        for t, e in equity:
            record(t, e)
        recording.writer.submit(lambda: None).result()
        elapsed = time.perf_counter() - started
        recording.close()
        with recorder.engine.connect() as connection:
            written = connection.execute(text("SELECT count(*) FROM equity_snapshots")).scalar_one()
        recorder.engine.dispose()
        if written != points:
            raise SystemExit(f"{path.__name__}: {written} of {points} snapshots written")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.points:,} equity snapshots through Recording into SQLite, median of {args.runs} runs")
    figures = {}
    for name, path in (("one by one", one_by_one), ("buffered", buffered)):
        elapsed = statistics.median(seconds_to_write(path, args.points) for _ in range(args.runs))
        figures[name] = args.points / elapsed
        print(f"  {name:<11} {elapsed:8.2f} s  {figures[name]:10,.0f} points/s")
    print(f"  buffered / one by one: {figures['buffered'] / figures['one by one']:.1f}×")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
