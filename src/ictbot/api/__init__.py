"""The HTTP API, dashboard, metrics and notifications of a running bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ictbot.runtime.engine import Engine


def attach_api(engine: Engine) -> None:
    """Register the API's stages and listeners on a built engine (called by the engine before its stages start)."""
