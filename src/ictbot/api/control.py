"""Control: pause entries, resume, close one position, flatten everything (the kill switch), reload strategy
parameters. Each needs the bearer token and goes through the engine's own control methods, which log and record it
with its time and source."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request

from ictbot.api.events import EngineWatcher
from ictbot.api.security import require_token
from ictbot.api.serialize import fill_dict
from ictbot.domain import Fill
from ictbot.errors import ConfigError
from ictbot.runtime.engine import Engine

router = APIRouter(prefix="/api/control", tags=["control"])
Source = Annotated[str, Depends(require_token)]


def _result(request: Request, action: str, source: str, fills: list[Fill] | None = None) -> dict[str, Any]:
    engine: Engine = request.app.state.engine
    assert engine.pipeline is not None
    gate = engine.pipeline.gate
    detail = "" if fills is None else f"{len(fills)} closing fill(s)"
    watcher: EngineWatcher = request.app.state.watcher
    watcher.control(action, source, detail)
    out: dict[str, Any] = {
        "action": action,
        "source": source,
        "trading": {"state": gate.state.value, "reason": gate.state_reason},
    }
    if fills is not None:
        out["fills"] = [fill_dict(f) for f in fills]
    return out


@router.post("/pause", summary="Stop taking new entries; open positions keep their stops and targets")
async def pause(request: Request, source: Source) -> dict[str, Any]:
    await request.app.state.engine.pause_entries(source)
    return _result(request, "pause", source)


@router.post("/resume", summary="Take entries again (after pause, flatten or a halt)")
async def resume(request: Request, source: Source) -> dict[str, Any]:
    try:
        await request.app.state.engine.resume_entries(source)
    except ConfigError as exc:
        raise HTTPException(409, str(exc)) from None
    return _result(request, "resume", source)


@router.post("/positions/{symbol}/close", summary="Cancel a symbol's resting orders and close its position")
async def close_position(request: Request, symbol: str, source: Source) -> dict[str, Any]:
    try:
        fills = await request.app.state.engine.close_position(symbol, source)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None
    return _result(request, "close_position", source, fills)


@router.post("/flatten", summary="Kill switch: cancel every order, close every position, halt trading")
async def flatten(request: Request, source: Source) -> dict[str, Any]:
    fills = await request.app.state.engine.flatten(source)
    return _result(request, "flatten", source, fills)


@router.post("/strategy/reload", summary="Apply new strategy parameters (timeframes need a restart)")
async def reload_strategy(
    request: Request,
    source: Source,
    params: Annotated[dict[str, Any], Body(examples=[{"reward_risk": 2.5}], description="parameters to change")],
) -> dict[str, Any]:
    try:
        await request.app.state.engine.reload_strategy(params, source)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None
    return _result(request, "reload_strategy", source)
