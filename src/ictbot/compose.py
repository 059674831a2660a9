"""Composition: the one place that turns settings into a running bot by choosing its parts.

The engine is built from injected parts; this module picks them from the settings, so the engine never imports the
packages that sit above it (the HTTP API reads the engine, so the engine must not import the API).
"""

from __future__ import annotations

from ictbot.api import attach_api
from ictbot.config import Settings
from ictbot.kernel.clock import Clock
from ictbot.notify.telegram import attach_telegram
from ictbot.runtime.engine import Engine, Service
from ictbot.runtime.supervisor import RestartPolicy
from ictbot.storage import Recorder


def build_engine(
    settings: Settings,
    recorder: Recorder | None = None,
    restart: RestartPolicy | None = None,
    wall: Clock | None = None,
) -> Engine:
    """The bot ``ictbot run`` starts: the engine for ``settings.mode`` with the services the settings enable."""
    services: list[Service] = [attach_api] if settings.api.enabled else []
    if settings.notify.telegram_control_chat_ids:
        services.append(attach_telegram)
    return Engine(settings, recorder, restart=restart, wall=wall, services=services)
