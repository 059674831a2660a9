"""Live-path latency and memory: 20 symbols × 1m klines through the local exchange, ccxt and the engine.

The local exchange runs in its own process (``ictbot exchange serve``) replaying 24 hours of real candles at an
accelerated speed; the bot runs here in live mode pointed at it, exactly as it would point at Binance: orders go to
the exchange through the order manager (persisted first, then sent), with their protective orders and
reconciliation. Printed in one run: the latency from a closed kline's arrival to the pipeline being done with it and
to the entry's order request being written to the socket (p50/p99), the bot's RSS over the soak, and the import
floor — the RSS of a process that only imports the third-party modules the bot imports.

The soak runs once per database backend on the same replay: SQLite (a file) and PostgreSQL (a throwaway server
started from the distribution's packages as the tests start it, on a unix socket), and the kline → order-request
latency is printed for each (median, p95, max), so the cost of the pre-send intent write on each is seen side by
side. ``--backends sqlite`` skips PostgreSQL.

With ``--trace-heap`` the run also prints what the Python heap gained in the steady state, by the line that allocated
it (tracemalloc, compared between a third of the soak and its end). Tracing slows the bot, so its latency figures
are not the bot's: use a separate run.

Run: python bench/bench_live.py [--symbols 20] [--hours 24] [--speed 300] [--strategy fvg_retrace] [--trace-heap]
     [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from ictbot import event_loop
from ictbot.compose import build_engine
from ictbot.config import load_settings
from ictbot.data.loaders import load_candles, write_parquet
from ictbot.runtime.engine import Engine
from ictbot.storage import open_recorder

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
DEPENDENCIES = (
    "import sys, ictbot.compose, ictbot.cli; "
    "print(' '.join(sorted(m for m in sys.modules if not m.startswith(('ictbot', '_', '__main__')))))"
)
BACKENDS = ("sqlite", "postgresql")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_floor_mb() -> float:
    """RSS of a fresh process importing every module the bot imports (standard library and third-party, submodules
    included), and nothing of ictbot."""
    run = subprocess.run([sys.executable, "-c", DEPENDENCIES], capture_output=True, text=True, check=True)
    modules = [m for m in run.stdout.split() if m not in sys.builtin_module_names]
    code = (
        "import importlib, sys\n"
        "for name in sys.stdin.read().split():\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        pass\n"
        "print(open('/proc/self/status').read())\n"
    )
    status = subprocess.run(
        [sys.executable, "-c", code], input=" ".join(modules), capture_output=True, text=True, check=True
    ).stdout
    return next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


# The benchmark's own samples and the first snapshot, kept while the second is taken, are not the bot's.
NOT_THE_BENCHMARK = [tracemalloc.Filter(False, __file__), tracemalloc.Filter(False, tracemalloc.__file__)]


class HeapTrace:
    """Python allocations alive at the end of the soak compared with those alive at a third of it, for the ones made
    after a sixth of it (the warm-up's own allocations are not traced): growth that lives on, by allocating line."""

    def __init__(self, hours: float) -> None:
        self.start, self.first, self.last = hours / 6, hours / 3, hours * 11 / 12
        self.snapshots: list[tracemalloc.Snapshot] = []

    def at(self, hour: float) -> None:
        if len(self.snapshots) == 2:
            return
        if not tracemalloc.is_tracing():
            if hour >= self.start:
                tracemalloc.start(1)
            return
        if hour >= (self.last if self.snapshots else self.first):
            self.snapshots.append(tracemalloc.take_snapshot().filter_traces(NOT_THE_BENCHMARK))
            if len(self.snapshots) == 2:
                tracemalloc.stop()

    def report(self, top: int = 8) -> list[str]:
        if len(self.snapshots) < 2:
            return ["Python heap: the soak ended before its second snapshot; run more hours"]
        first, last = self.snapshots
        growth = sorted(last.compare_to(first, "lineno"), key=lambda stat: stat.size_diff, reverse=True)
        total = sum(stat.size_diff for stat in growth)
        lines = [f"Python heap from {self.first:.0f} h to {self.last:.0f} h: {total / 1024:+.1f} KiB"]
        for stat in growth[:top]:
            frame = stat.traceback[0]
            lines.append(
                f"  {stat.size_diff / 1024:+7.1f} KiB {stat.count_diff:+6d} blocks  {frame.filename}:{frame.lineno}"
            )
        return lines


def replay_files(symbols: int, candles: int, directory: Path) -> list[Path]:
    """``symbols`` real 1m series — BTC, ETH and SOL windows from different days, moved onto one common clock —
    each under its own symbol name."""
    sources = [load_candles(DATA / f"{name}_USDT_USDT-1m-futures.feather") for name in ("BTC", "ETH", "SOL")]
    common_start = int(sources[0].open_time[0])
    paths = []
    for i in range(symbols):
        source = sources[i % 3]
        start = (i // 3) * 2000
        window = source.slice(start, start + candles)
        symbol = f"{source.symbol[:-4]}{i:02d}USDT"
        # The exchange takes a series' symbol from the file's contents: each copy carries its own name.
        moved = replace(window, symbol=symbol, open_time=common_start + np.arange(len(window), dtype=np.int64) * 60_000)
        path = directory / f"{symbol}-1m-bench.parquet"
        write_parquet(moved, path)
        paths.append(path)
    return paths


def percentile_ms(values, q: float) -> float:
    return float(np.percentile(np.array(values, dtype=np.float64), q)) / 1e6 if len(values) else float("nan")


def start_exchange(
    paths: list[Path], speed: float, warmup: int, output: Path
) -> tuple[subprocess.Popen, dict[str, str]]:
    """``ictbot exchange serve`` in its own process; returns it and what it printed (URLs, key, secret).

    Its output goes to a file, so that a long run can never block on a full pipe.
    """
    args = [sys.executable, "-m", "ictbot", "exchange", "serve", "--port", "0", "--speed", str(speed)]
    args += ["--warmup", str(warmup), *(part for p in paths for part in ("--data", str(p)))]
    with output.open("w") as sink:
        server = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, text=True)
    printed: dict[str, str] = {}
    for _ in range(600):
        printed = {}
        for line in output.read_text().splitlines():
            key, _, value = line.partition(":")
            printed[key.strip()] = value.strip().split()[0] if value.strip() else ""
        if "API secret" in printed:
            return server, printed
        if server.poll() is not None:
            break
        time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the local exchange did not start: {output.read_text()[-2000:]}")


async def caught_up(engine: Engine, symbols: list[str]) -> None:
    """Until no kline waits and every symbol's newest candle is the same one (all series share one clock): the
    backfills after the REST warm-up, one symbol at a time, can outlast the first market hour at high speeds."""
    assert engine.market is not None and engine.pipeline is not None
    book = engine.pipeline.book
    while not engine.market.closed.empty() or len({book.last_open_time(symbol) for symbol in symbols}) > 1:
        await asyncio.sleep(0.05)


async def soak(
    paths: list[Path],
    printed: dict[str, str],
    hours: float,
    speed: float,
    strategy: str,
    trace: HeapTrace | None,
    database_url: str | None = None,
) -> dict[str, object]:
    symbols = [p.name.split("-")[0] for p in paths]
    data_dir = Path(tempfile.mkdtemp(prefix="ictbot-bench-"))
    settings = load_settings(
        mode="live",
        symbols=symbols,
        strategy={"name": strategy},
        venue={
            "rest_url": printed["REST base URL"],
            "ws_url": printed["WebSocket base URL"],
            "api_key": printed["API key"],
            "api_secret": printed["API secret"],
        },
        data_dir=str(data_dir),
        api={"enabled": False},
    )
    engine = build_engine(settings, open_recorder(database_url or f"sqlite:///{data_dir / 'bench.sqlite'}"))
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    await engine.ready.wait()
    samples = []
    wall_seconds = hours * 3600 / speed
    loop = asyncio.get_running_loop()
    started = loop.time()
    # Latency is measured in the steady state: after the first market hour and the catch-up from the REST warm-up
    # (klines queued behind backfills), whichever ends later.
    await asyncio.sleep(min(3600 / speed, wall_seconds / 4))
    await caught_up(engine, symbols)
    engine.processing.clear()
    engine.latencies.clear()
    while loop.time() - started < wall_seconds:
        await asyncio.sleep(1.0)
        hour = (loop.time() - started) * speed / 3600
        samples.append((hour, rss_mb()))
        if trace is not None:
            trace.at(hour)
    stop.set()
    await task
    return {"engine": engine, "samples": samples}


@contextlib.contextmanager
def database(backend: str) -> Iterator[str | None]:
    """The soak's database URL: ``None`` for a SQLite file in its data directory, or a fresh database on a throwaway
    PostgreSQL server (stopped afterwards)."""
    if backend == "sqlite":
        yield None
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from pgserver import PostgresServer, postgres_bindir

    bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit(
            "PostgreSQL's server is not installed (Debian: apt-get install postgresql); or --backends sqlite"
        )
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server.new_database()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--speed", type=float, default=300.0, help="replay speed; keep it below what ccxt can parse")
    parser.add_argument(
        "--strategy", default="fvg_retrace", help="fvg_retrace trades often, so order latency gets samples"
    )
    parser.add_argument("--trace-heap", action="store_true", help="also print the Python heap's growth by line")
    parser.add_argument(
        "--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS), help="the databases to soak on, in order"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    warmup = 300
    with tempfile.TemporaryDirectory() as directory:
        # Prepared in a child process, so that reading the source files leaves nothing in this process's memory.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            candles = warmup + int(args.hours * 60) + 60
            paths = child.submit(replay_files, args.symbols, candles, Path(directory)).result()
        floor = import_floor_mb()
        results = {}
        for backend in args.backends:
            trace = HeapTrace(args.hours) if args.trace_heap and not results else None
            with database(backend) as url:
                server, printed = start_exchange(paths, args.speed, warmup, Path(directory) / f"exchange-{backend}.log")
                try:
                    run = soak(paths, printed, args.hours, args.speed, args.strategy, trace, url)
                    results[backend] = event_loop.run(run)
                finally:
                    server.terminate()
                    server.wait(10)
    # The memory figures are the first soak's: the later ones run in a process the first has already warmed.
    first = results[args.backends[0]]
    engine = first["engine"]
    samples = first["samples"]
    processed = engine.processing.values()
    orders = engine.latencies.values()
    print(
        f"{args.symbols} symbols × 1m, {args.hours:g} h of real candles at {args.speed:g}× "
        f"({sum(v for (_, tf), v in engine.counters.totals().candles.items() if tf.value == '1m'):,} closed 1m klines)"
    )
    print(
        f"kline arrival → pipeline done: p50 {percentile_ms(processed, 50):.3f} ms, "
        f"p99 {percentile_ms(processed, 99):.3f} ms ({len(processed):,} candles)"
    )
    print(
        f"kline arrival → entry request written to the socket: p50 {percentile_ms(orders, 50):.3f} ms, "
        f"p99 {percentile_ms(orders, 99):.3f} ms, max {percentile_ms(orders, 100):.3f} ms ({len(orders)} orders)"
    )
    for backend, result in results.items():
        requests = result["engine"].latencies.values()
        print(
            f"kline arrival → entry request on the socket, {backend}: median {percentile_ms(requests, 50):.3f} ms, "
            f"p95 {percentile_ms(requests, 95):.3f} ms, max {percentile_ms(requests, 100):.3f} ms "
            f"({len(requests)} orders)"
        )
    settled = [rss for hour, rss in samples if hour >= min(1.0, args.hours / 4)]
    print(f"import floor (deps only): {floor:.1f} MB")
    print(
        f"bot RSS over the soak: start {samples[0][1]:.1f} MB, after warm-up {settled[0]:.1f} MB, "
        f"end {samples[-1][1]:.1f} MB, max {max(r for _, r in samples):.1f} MB"
    )
    marks = [min(samples, key=lambda sample, h=h: abs(sample[0] - h)) for h in np.linspace(0, args.hours, 7)]
    print("bot RSS by market hour: " + ", ".join(f"{hour:.0f} h {rss:.1f} MB" for hour, rss in marks))
    second_half = np.array([sample for sample in samples if sample[0] >= args.hours / 2])
    slope_mb_per_h = float(np.polyfit(second_half[:, 0], second_half[:, 1], 1)[0]) if len(second_half) > 2 else 0.0
    print(
        f"bot RSS above the floor: {samples[-1][1] - floor:.1f} MB (target ≤ 30 MB); "
        f"growth over the soak after warm-up: {samples[-1][1] - settled[0]:+.1f} MB; "
        f"over its second half: {second_half[-1, 1] - second_half[0, 1]:+.1f} MB, "
        f"trend {slope_mb_per_h * 24:+.2f} MB per market day"
    )
    if trace is not None:
        print("\n".join(trace.report()))


if __name__ == "__main__":
    main()
