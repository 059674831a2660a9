"""The HTTP API, dashboard, metrics and notifications of a running bot (docs/api.md)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine
    from ictbot.runtime.supervisor import RestartPolicy


def attach_api(engine: Engine, restart: RestartPolicy) -> None:
    """Register the API's stages and listeners on a built engine (called by the engine before its stages start).

    ``restart`` is the engine's restart policy, the same for every stage. ``api`` serves HTTP and watches the engine
    for events; ``notify`` (when a receiver is configured) delivers messages. Both are non-critical: their failure is
    logged and restarted, never a reason to stop trading."""
    from ictbot.api.app import create_app
    from ictbot.api.events import EngineWatcher, EventHub
    from ictbot.api.server import ApiStage
    from ictbot.api.zones import compile_detectors, detector_config
    from ictbot.notify import Notifier

    assert engine.supervisor is not None and engine.pipeline is not None and engine.health is not None
    compile_detectors(detector_config(engine.settings))
    hub = EventHub()
    watcher = EngineWatcher(engine, hub)
    engine.pipeline.listeners.append(watcher)
    engine.health.add_listener(watcher.on_readiness)
    app = create_app(engine, hub, watcher)
    engine.supervisor.add(
        "api", ApiStage(engine, app, hub, watcher).run, critical=False, restart=restart, beat_timeout_s=math.inf
    )
    notifier = Notifier(engine.settings.notify)
    if notifier.enabled:
        hub.add_sink(notifier.notify)
        app.state.notifier = notifier
        engine.supervisor.add("notify", notifier.run, critical=False, restart=restart, beat_timeout_s=math.inf)
