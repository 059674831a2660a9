"""The ``api`` stage: uvicorn serving the app on the bot's event loop, and the watcher that turns engine state
into events. Non-critical: a broken API is logged and restarted, trading goes on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from ictbot.api.events import EngineWatcher, EventHub
from ictbot.runtime.control_token import token_path
from ictbot.runtime.engine import Engine
from ictbot.runtime.preflight import bind_api
from ictbot.runtime.supervisor import StageContext

log = logging.getLogger("ictbot.api")
WATCH_INTERVAL_S = 0.25


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """The bot owns SIGINT/SIGTERM (a clean stop of every stage); uvicorn must not take them over."""
        yield


class ApiStage:
    """One run = one uvicorn server; ``engine.api_url`` says where it listens."""

    def __init__(self, engine: Engine, app: FastAPI, hub: EventHub, watcher: EngineWatcher) -> None:
        self._engine = engine
        self._app = app
        self._hub = hub
        self._watcher = watcher

    async def run(self, ctx: StageContext) -> None:
        api = self._engine.settings.api
        # The first run serves the socket bound at startup (a taken port stopped the bot there); a restart binds anew.
        sock, self._engine.api_socket = self._engine.api_socket or bind_api(api.host, api.port), None
        host, port = sock.getsockname()[:2]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            timeout_graceful_shutdown=1,
        )
        server = _Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
        try:
            while not server.started:
                if serving.done():
                    serving.result()
                    raise RuntimeError("the API server stopped while starting")
                await asyncio.sleep(0.01)
            url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
            self._engine.api_url = url
            log.info("API and dashboard on %s (metrics %s/metrics)", url, url)
            if ctx.run == 1 and self._engine.settings.api.token is None and self._engine.control_token is not None:
                log.warning(
                    "control token in %s (owner-only): open the dashboard at %s/#token=%s to use its controls; "
                    "`ictbot flatten` and `ictbot status` read it from that file",
                    token_path(self._engine.settings),
                    url,
                    self._engine.control_token.get_secret_value(),
                )
            while not serving.done():
                ctx.beat()
                self._watcher.poll()
                await asyncio.wait({serving}, timeout=WATCH_INTERVAL_S)
            serving.result()
        finally:
            self._hub.close()
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(serving), 3)
            serving.cancel()
            sock.close()
