"""The live runtime: supervised stages with heartbeats, the readiness model, and the heartbeat log.

The names below are imported on first use, so that importing a light module of this package (``ictbot flatten``'s
command, for every ``ictbot`` command) does not load the supervisor and asyncio."""

from ictbot.lazy import lazy_exports

_HOMES = {
    "CountSnapshot": "counters",
    "Counters": "counters",
    "Check": "health",
    "Health": "health",
    "Readiness": "health",
    "HeartbeatLine": "heartbeat",
    "HeartbeatMonitor": "heartbeat",
    "RestartPolicy": "supervisor",
    "StageContext": "supervisor",
    "StageExited": "supervisor",
    "StageState": "supervisor",
    "StageStatus": "supervisor",
    "Supervisor": "supervisor",
    "SupervisorError": "supervisor",
}

__all__ = sorted(_HOMES)

__getattr__ = lazy_exports(__name__, _HOMES, globals())
