"""Live events over a WebSocket: fills, signals, rejections, readiness, task crashes, trading state, control actions
and closed candles, as JSON messages ``{"type", "time", "data"}``. A new client first gets the recent ones."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ictbot.api.events import EventHub

router = APIRouter(tags=["stream"])


@router.websocket("/api/stream")
async def stream(websocket: WebSocket) -> None:
    hub: EventHub = websocket.app.state.hub
    await websocket.accept()
    backlog, queue = list(hub.recent), hub.subscribe()  # together: no event lost or sent twice
    try:
        for event in backlog:
            await websocket.send_json(event)
        while (event := await queue.get()) is not None:
            await websocket.send_json(event)
        await websocket.close(1001, "the bot is stopping")
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(queue)
