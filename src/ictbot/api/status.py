"""Liveness, readiness and the bot's status at a glance."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ictbot.api.security import control_access
from ictbot.api.serialize import money
from ictbot.runtime.counters import stream_name
from ictbot.runtime.engine import Engine

router = APIRouter(tags=["health"])


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@router.get(
    "/health",
    summary="Liveness: the event loop answers and no critical stage keeps crashing",
    responses={503: {"description": "a critical stage keeps crashing (still restarted); `failed_stages` names it"}},
)
async def health(request: Request) -> JSONResponse:
    """Answered from the event loop itself, so an answer proves the loop runs; ``alive`` is false (503) while a
    critical stage (market data, the pipeline, …) keeps crashing, since the bot cannot trade then."""
    failed = _engine(request).failing_critical_stages()
    body = {
        "alive": not failed,
        "failed_stages": failed,
        "uptime_seconds": round(time.monotonic() - request.app.state.started, 3),
    }
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get(
    "/ready",
    summary="Readiness: streams fresh, critical tasks beating, venue reachable, reconciled",
    responses={503: {"description": "not ready; the body names every check, its age and why it fails"}},
)
async def ready(request: Request) -> JSONResponse:
    engine = _engine(request)
    if engine.health is None:
        body = {
            "ready": False,
            "checked_at_ms": None,
            "checks": [{"name": "engine", "ok": False, "age_seconds": None, "detail": "the bot is still starting"}],
        }
        return JSONResponse(body, status_code=503)
    readiness = engine.health.readiness(engine.clock.now_ms())
    return JSONResponse(readiness.to_dict(), status_code=200 if readiness.ready else 503)


@router.get("/status", summary="Mode, venue, uptime, trading state, tasks, streams and counts")
async def status(request: Request) -> dict[str, Any]:
    engine = _engine(request)
    s = engine.settings
    now = engine.clock.now_ms()
    assert engine.pipeline is not None and engine.health is not None and engine.supervisor is not None
    pipeline = engine.pipeline
    readiness = engine.health.readiness(now)
    ages = engine.health.stream_ages(now)
    totals = engine.counters.totals()
    streams = []
    for key, age in ages.items():
        closed = pipeline.book.closed(*key)
        newest = None
        if closed.shape[1]:
            t, o, h, low, c, v = closed[:, -1].tolist()
            newest = {"time": int(t), "open": o, "high": h, "low": low, "close": c, "volume": v}
        streams.append(
            {
                "stream": stream_name(key),
                "symbol": key[0],
                "timeframe": key[1].value,
                "newest_candle": newest,
                "age_seconds": age,
                "candles_processed": totals.candles.get(key, 0),
            }
        )
    return {
        "mode": s.mode,
        "venue": _venue(engine),
        "strategy": s.strategy.name,
        "symbols": list(s.symbols),
        "market_time_ms": now,
        "started_at_ms": engine.started_ms,
        "uptime_seconds": round(time.monotonic() - request.app.state.started, 3),
        "trading": {"state": pipeline.gate.state.value, "reason": pipeline.gate.state_reason},
        "control": control_access(request),
        "ready": readiness.ready,
        "failing": list(readiness.failing),
        "tasks": [st.to_dict() for st in engine.supervisor.statuses(now)],
        "streams": streams,
        "counts": totals.to_dict(),
        "open_positions": pipeline.portfolio.open_position_count(),
        "equity": money(pipeline.equity()),
        "api_url": engine.api_url,
        "replay": engine.replay_progress(),
    }


def _venue(engine: Engine) -> dict[str, Any]:
    s = engine.settings
    if engine.exchange is not None:
        return {"name": s.venue.name, "kind": "local exchange (replay)", "url": engine.exchange.rest_url}
    if s.venue.rest_url is not None:
        return {"name": s.venue.name, "kind": "Binance-compatible server", "url": s.venue.rest_url}
    return {"name": s.venue.name, "kind": "Binance demo" if s.venue.testnet else "Binance", "url": None}
