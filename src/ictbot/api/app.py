"""The FastAPI application of one running bot."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from ictbot.api import control, dashboard, metrics, reads, status, stream
from ictbot.api.events import EngineWatcher, EventHub
from ictbot.api.guard import Guard
from ictbot.runtime.engine import Engine


def create_app(engine: Engine, hub: EventHub, watcher: EngineWatcher) -> FastAPI:
    """Routes read the engine from ``app.state``. CORS stays closed unless ``api.cors_origins`` names origins."""
    app = FastAPI(
        title="ictbot",
        summary="Watch and steer a running ictbot: health, read API, control, metrics, live events, dashboard.",
        version="1",
        docs_url=None,  # the interactive docs load their scripts from a CDN; docs/api.md and /openapi.json remain
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.hub = hub
    app.state.watcher = watcher
    app.state.metrics = metrics.metrics_registry()
    app.state.started = time.monotonic()
    origins = engine.settings.api.cors_origins
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    for module in (status, reads, control, stream, metrics, dashboard):
        app.include_router(module.router)
    app.add_middleware(Guard, settings=engine.settings.api)  # outermost: refuses before anything else runs
    return app
