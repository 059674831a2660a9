"""The live runtime: supervised stages with heartbeats, the readiness model, and the heartbeat log."""

from ictbot.runtime.counters import Counters, CountSnapshot
from ictbot.runtime.health import Check, Health, Readiness
from ictbot.runtime.heartbeat import HeartbeatLine, HeartbeatMonitor
from ictbot.runtime.supervisor import (
    RestartPolicy,
    StageContext,
    StageExited,
    StageState,
    StageStatus,
    Supervisor,
    SupervisorError,
)

__all__ = [
    "Check",
    "CountSnapshot",
    "Counters",
    "Health",
    "HeartbeatLine",
    "HeartbeatMonitor",
    "Readiness",
    "RestartPolicy",
    "StageContext",
    "StageExited",
    "StageState",
    "StageStatus",
    "Supervisor",
    "SupervisorError",
]
