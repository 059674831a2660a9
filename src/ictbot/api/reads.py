"""The read API: what the bot holds in memory (positions, trades, candles, zones) and what it recorded (orders with
their history, fills, signals with evidence, rejections, daily PnL, equity, events). Lists are newest first and
paginated with ``limit``/``offset``; ``next_offset`` is ``null`` on the last page."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from ictbot.api.paging import newest_first_page
from ictbot.api.serialize import (
    candle_dict,
    closed_trade,
    order_dict,
    position_dict,
    row,
    signal_dict,
    trade_dict,
)
from ictbot.api.zones import detector_config, zones
from ictbot.domain import Timeframe
from ictbot.portfolio.ledger import Trade
from ictbot.runtime.engine import Engine
from ictbot.storage import MAX_PAGE, RecordReader, config_snapshot

router = APIRouter(prefix="/api", tags=["read"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, 1 … {MAX_PAGE}")]
MAX_OFFSET = 10**9  # deeper than any history; larger numbers overflow the database's 64-bit integers
MAX_TIME_MS = 10**13  # epoch ms of the year 2286
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"rows to skip, 0 … {MAX_OFFSET}")]
SymbolQuery = Annotated[str | None, Query(pattern=r"^[A-Z0-9]{2,20}$", description="e.g. BTCUSDT")]
RunQuery = Annotated[int | None, Query(ge=1, le=MAX_OFFSET, description="a run's id (see /api/runs)")]


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _recorder(request: Request) -> RecordReader:
    recorder = _engine(request).recorder
    if recorder is None:
        raise HTTPException(503, "this bot runs without a database, so nothing is recorded; set database_url")
    return recorder


def _run(request: Request, run: int | None) -> int | None:
    """The run asked for, else the bot's current run (``None`` before it has one: every run)."""
    return run if run is not None else getattr(_engine(request).recorder, "run_id", None)


def _page(items: list[Any], limit: int, offset: int) -> dict[str, Any]:
    return {
        "items": items,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + len(items) if len(items) == limit else None,
    }


def _stream(engine: Engine, symbol: str, timeframe: Timeframe) -> np.ndarray:
    """A copy of one stream's closed candles; 422 naming what exists when the bot does not build it."""
    if symbol not in engine.settings.symbols:
        raise HTTPException(
            422, f"symbol {symbol} is not traded by this bot; it trades {', '.join(engine.settings.symbols)}"
        )
    assert engine.pipeline is not None
    built = engine.pipeline.book.timeframes
    if timeframe not in built:
        names = ", ".join(tf.value for tf in built)
        raise HTTPException(422, f"timeframe {timeframe.value} is not built for {symbol}; built: {names}")
    return np.array(engine.pipeline.book.closed(symbol, timeframe))


@router.get("/positions", summary="Open positions with mark price and unrealized PnL (live)")
async def positions(request: Request) -> dict[str, Any]:
    engine = _engine(request)
    assert engine.pipeline is not None
    pipeline = engine.pipeline
    items = [
        position_dict(p, pipeline.marks.get(p.symbol)) for p in pipeline.portfolio.positions.values() if p.quantity != 0
    ]
    return {"items": items}


@router.get("/trades", summary="Round trips, newest entry first: the open ones and the closed ones recorded")
async def trades(
    request: Request, symbol: SymbolQuery = None, run: RunQuery = None, limit: Limit = 100, offset: Offset = 0
) -> dict:
    engine = _engine(request)
    assert engine.pipeline is not None
    recorder = engine.recorder
    current = run is None or run == getattr(recorder, "run_id", None)
    open_trades = engine.pipeline.portfolio.open_trades.values() if current else ()
    open_now = [t for t in open_trades if symbol is None or t.symbol == symbol]

    def read_closed(start: int, count: int) -> list[Trade]:
        if recorder is None:
            return []
        return [closed_trade(r) for r in recorder.trades_from(start, count, symbol=symbol, run_id=run)]

    page = await run_in_threadpool(newest_first_page, open_now, read_closed, offset, limit)
    return _page([trade_dict(t) for t in page], limit, offset)


@router.get("/orders", summary="Orders with their intent and state history")
def orders(
    request: Request, symbol: SymbolQuery = None, open_only: bool = False, limit: Limit = 100, offset: Offset = 0
) -> dict[str, Any]:
    found = _recorder(request).orders(symbol=symbol, open_only=open_only, limit=limit, offset=offset)
    return _page([order_dict(o) for o in found], limit, offset)


@router.get("/orders/{client_order_id}", summary="One order with its intent and state history")
def order(request: Request, client_order_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    found = _recorder(request).order_by_client_id(client_order_id)
    if found is None:
        raise HTTPException(404, f"no order with client order id {client_order_id!r}")
    return order_dict(found)


@router.get("/fills", summary="Executions")
def fills(
    request: Request,
    symbol: SymbolQuery = None,
    client_order_id: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    found = _recorder(request).fills(symbol=symbol, client_order_id=client_order_id, limit=limit, offset=offset)
    return _page([row(f, "id") for f in found], limit, offset)


@router.get("/signals", summary="Signals with the detector records that justified them and the risk decision")
def signals(request: Request, symbol: SymbolQuery = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    found = _recorder(request).signals(symbol=symbol, limit=limit, offset=offset)
    return _page([signal_dict(s) for s in found], limit, offset)


@router.get("/rejections", summary="Signals the risk gate refused, with the reason")
def rejections(
    request: Request,
    symbol: SymbolQuery = None,
    reason: Annotated[str | None, Query(max_length=64, description="e.g. daily_loss_limit")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    found = _recorder(request).rejections(symbol=symbol, reason=reason, limit=limit, offset=offset)
    return _page([signal_dict(s) for s in found], limit, offset)


@router.get("/pnl/daily", summary="Per UTC day: realized PnL, fees, funding, fills, opening and closing equity")
def daily_pnl(request: Request, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    found = _recorder(request).daily_pnl(limit=limit, offset=offset)
    return _page([{**row(d, "id"), "net_pnl": str(d.net_pnl)} for d in found], limit, offset)


@router.get(
    "/equity",
    summary="Equity curve of the current run (or of run), oldest first: its newest points (page back with end = "
    "next_end), or from start on (page on with start = next_start)",
)
def equity(
    request: Request,
    run: RunQuery = None,
    start: Annotated[int | None, Query(ge=0, le=MAX_TIME_MS, description="epoch ms, inclusive")] = None,
    end: Annotated[int | None, Query(ge=0, le=MAX_TIME_MS, description="epoch ms, inclusive")] = None,
    limit: Limit = MAX_PAGE,
) -> dict[str, Any]:
    if start is not None and end is not None and end < start:
        raise HTTPException(422, f"end ({end}) is before start ({start})")
    run_id = _run(request, run)
    newest = start is None
    found = _recorder(request).equity_curve(run_id=run_id, start=start, end=end, limit=limit, newest=newest)
    items = [row(e, "id") for e in found]
    full = len(items) == limit
    return {
        "run": run_id,
        "items": items,
        "limit": limit,
        "next_start": items[-1]["time"] + 1 if full and not newest else None,
        "next_end": items[0]["time"] - 1 if full and newest else None,
    }


@router.get("/runs", summary="Runs of the bot, newest first: mode, symbols, wall-clock and market start; current")
def runs(request: Request, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    found = _recorder(request).runs(limit=limit, offset=offset)
    return {**_page([row(r, "config") for r in found], limit, offset), "current": _run(request, None)}


@router.get("/events", summary="Bot events: control actions (with time and source), readiness, crashes")
def events(
    request: Request,
    kind: Annotated[str | None, Query(max_length=32, description="e.g. control")] = None,
    run: RunQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """``time`` is wall-clock, ``market_time`` the market's time then (a replay's replayed time: it lines up with the
    candles)."""
    found = _recorder(request).events(kind=kind, run_id=run, limit=limit, offset=offset)
    return _page([row(e, "id") for e in found], limit, offset)


@router.get("/candles/{symbol}/{timeframe}", summary="Closed candles the bot holds, oldest first")
async def candles(
    request: Request,
    symbol: str,
    timeframe: Timeframe,
    limit: Annotated[int, Query(ge=1, le=2000, description="newest candles to return")] = 500,
) -> dict[str, Any]:
    columns = _stream(_engine(request), symbol, timeframe)[:, -limit:]
    return {"symbol": symbol, "timeframe": timeframe.value, "items": [candle_dict(c) for c in columns.T]}


@router.get("/zones/{symbol}/{timeframe}", summary="Detector zones: FVGs, order/breaker blocks, liquidity, breaks")
async def detector_zones(
    request: Request,
    symbol: str,
    timeframe: Timeframe,
    active_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=2000, description="candles to run the detectors over")] = 2000,
) -> dict[str, Any]:
    engine = _engine(request)
    columns = _stream(engine, symbol, timeframe)[:, -limit:]
    config = detector_config(engine.settings)
    found = await asyncio.to_thread(zones, columns, timeframe.ms, config, active_only=active_only)
    return {"symbol": symbol, "timeframe": timeframe.value, "items": found}


@router.get("/config", summary="Effective settings, secrets redacted")
async def config(request: Request) -> dict[str, Any]:
    return config_snapshot(_engine(request).settings)
