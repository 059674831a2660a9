"""``ictbot download`` as a user runs it: against the local exchange and a local dump server, never the internet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from typer.testing import CliRunner, Result

from ictbot.data.download_cli import register
from ictbot.data.frame import CandleFrame
from ictbot.data.store import HistoryStore
from ictbot.domain import Timeframe
from ictbot.exchange import LocalExchange

from .conftest import LINK_ZIP, WARMUP, DumpServer, assert_same

MONTH = "/data/futures/um/monthly/klines/LINKUSDT/1m/LINKUSDT-1m-2023-02.zip"


def make_app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # keep ``download`` a sub-command, as in the real ``ictbot`` app
    register(app)
    return app


async def run(*args: str) -> Result:
    """Invoke the command in a worker thread: it runs its own event loop while the servers run in this one."""
    return await asyncio.to_thread(CliRunner().invoke, make_app(), ["download", *args])


async def test_downloads_from_the_local_exchange_and_then_only_what_is_new(
    tmp_path: Path, btc: CandleFrame, exchange: LocalExchange
) -> None:
    args = ["--symbol", "btc/usdt:usdt", "--timeframe", "1m", "--from", "2025-05-04T15:33", "--source", "rest"]
    args += ["--store", str(tmp_path), "--rest-url", exchange.rest_url]
    first = await run(*args)
    assert first.exit_code == 0, first.output
    assert f"BTCUSDT 1m: {WARMUP} new candles" in first.stdout
    assert "stored: 3000 candles 2025-05-04T15:33:00Z → 2025-05-06T17:32:00Z, 0 gaps" in first.stdout
    second = await run(*args)
    assert "BTCUSDT 1m: 0 new candles (0 REST pages" in second.stdout
    assert_same(HistoryStore(tmp_path).read("BTCUSDT", Timeframe.M1), btc.slice(0, WARMUP))


async def test_unknown_symbol_exits_2_with_the_reason(tmp_path: Path, exchange: LocalExchange) -> None:
    result = await run(
        "--symbol", "NOPEUSDT", "--timeframe", "1m", "--from", "2025-05-04",
        "--store", str(tmp_path), "--rest-url", exchange.rest_url,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "Binance USDT-M has no symbol NOPEUSDT (-1121)" in result.stderr
    assert not any(tmp_path.iterdir())


async def test_bad_options_exit_2_naming_the_option(tmp_path: Path) -> None:
    base = ["--symbol", "BTCUSDT", "--store", str(tmp_path), "--rest-url", "http://127.0.0.1:9"]
    bad_date = await run(*base, "--timeframe", "1m", "--from", "May 4th")
    assert bad_date.exit_code == 2 and "--from 'May 4th' is not a date" in bad_date.stderr
    bad_tf = await run(*base, "--timeframe", "7m", "--from", "2025-05-04")
    assert bad_tf.exit_code == 2 and "unknown timeframe '7m'" in bad_tf.stderr
    empty = await run(*base, "--timeframe", "1m", "--from", "2025-05-04", "--to", "2025-05-01")
    assert empty.exit_code == 2 and "the range is empty" in empty.stderr
    testnet_bulk = await run(*base, "--timeframe", "1m", "--from", "2025-05-04", "--source", "bulk", "--testnet")
    assert testnet_bulk.exit_code == 2 and "mainnet candles only" in testnet_bulk.stderr


async def test_bulk_dumps_through_the_command_and_a_bad_checksum_exits_2(
    tmp_path: Path, link: CandleFrame, dumps: DumpServer
) -> None:
    args = ["--symbol", "LINKUSDT", "--timeframe", "1m", "--from", "2023-02-01", "--to", "2023-03-01"]
    args += ["--source", "bulk", "--bulk-url", dumps.url]
    dumps.publish(MONTH, LINK_ZIP.read_bytes(), checksum=b"f" * 64 + b"  LINKUSDT-1m-2023-02.zip\n")
    refused = await run(*args, "--store", str(tmp_path / "refused"))
    assert refused.exit_code == 2 and "does not match the published checksum" in refused.stderr
    assert not (tmp_path / "refused").exists()

    dumps.publish(MONTH, LINK_ZIP.read_bytes())
    result = await run(*args, "--store", str(tmp_path / "good"))
    assert result.exit_code == 0, result.output
    assert "LINKUSDT 1m: 40320 new candles (0 REST pages, 1 dumps)" in result.stdout
    assert_same(HistoryStore(tmp_path / "good").read("LINKUSDT", Timeframe.M1), link)
