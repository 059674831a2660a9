"""The live runtime: supervised stages with heartbeats, the readiness model, the heartbeat log and the clock."""

from ictbot.runtime.clock import Clock, ManualClock, WallClock
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
    "Clock",
    "CountSnapshot",
    "Counters",
    "Health",
    "HeartbeatLine",
    "HeartbeatMonitor",
    "ManualClock",
    "Readiness",
    "RestartPolicy",
    "StageContext",
    "StageExited",
    "StageState",
    "StageStatus",
    "Supervisor",
    "SupervisorError",
    "WallClock",
]
