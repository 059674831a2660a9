"""Named, supervised stages: each runs as its own task, beats to prove it works, and is restarted when it crashes.

The system ictbot replaces looked healthy while no task was running. Here a stage that crashes is logged with its
traceback and restarted with exponential backoff, capped, for as long as it keeps crashing: an outage of any length
ends with the stage running again. Too many crashes within a window make the stage *failing* and escalate once (the
engine halts trading for a critical stage, reports a non-critical one); its first beat after a restart recovers it.
Backoff and the crash window run on the wall clock, beat ages on the market clock: a replay at 600× must not shrink
30 s of backoff to 50 ms. A supervisor with no stages refuses to start; every stage's state and heartbeat age is
visible to the readiness model.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ictbot.errors import IctbotError
from ictbot.kernel.clock import Clock
from ictbot.runtime.counters import Counters

logger = logging.getLogger("ictbot.supervisor")


class SupervisorError(IctbotError):
    """The supervisor was asked to do something that would leave the bot silently idle or half-built."""


class StageExited(IctbotError):
    """A long-running stage returned; it is treated like a crash so the work it did is never silently gone."""


class StageState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    BACKING_OFF = "backing_off"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """Restart with exponential backoff (wall seconds) and jitter; more than ``max_restarts`` crashes within
    ``window_s`` escalate. A run that beat and lasted ``stable_s`` was healthy: its crash starts a fresh count, so a
    stream that reconnects fine after each drop is never called failing. The cap keeps a restart within ~half a
    minute of the venue coming back, however long it was away."""

    max_restarts: int = 5
    window_s: float = 300.0
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.1
    stable_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0 or self.window_s <= 0 or self.initial_backoff_s < 0 or self.stable_s < 0:
            raise ValueError("max_restarts must be ≥ 0, window_s > 0, initial_backoff_s ≥ 0 and stable_s ≥ 0")
        if self.multiplier < 1 or not 0 <= self.jitter < 1:
            raise ValueError("multiplier must be ≥ 1 and jitter in [0, 1)")

    def backoff_s(self, crashes_in_window: int, rng: random.Random) -> float:
        """Delay before the restart that follows the n-th crash in the window (n ≥ 1), jittered by ± ``jitter``."""
        doublings = min(crashes_in_window - 1, 64)  # beyond that every delay is the cap anyway
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier**doublings)
        return base * (1 + rng.uniform(-self.jitter, self.jitter))


StageFactory = Callable[["StageContext"], Awaitable[None]]
EscalationHandler = Callable[[str, BaseException], None]
RecoveryHandler = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class StageStatus:
    """One stage as readiness, ``/status`` and logs see it."""

    name: str
    critical: bool
    state: StageState
    beat_timeout_s: float
    beat_age_s: float | None
    beaten: bool
    restarts: int
    last_error: str | None
    failing: bool = False

    @property
    def alive(self) -> bool:
        """Running and beating within its deadline (measured from its start until it beats once)."""
        return (
            self.state is StageState.RUNNING and self.beat_age_s is not None and self.beat_age_s <= self.beat_timeout_s
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "critical": self.critical,
            "state": self.state.value,
            "alive": self.alive,
            "beat_age_seconds": self.beat_age_s,
            "beat_timeout_seconds": self.beat_timeout_s,
            "beaten": self.beaten,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "failing": self.failing,
        }


class StageContext:
    """Handed to a stage on each run: ``beat()`` proves progress; ``counters`` counts what flowed."""

    def __init__(
        self, stage: _Stage, counters: Counters, clock: Clock, run: int, on_beat: Callable[[_Stage], None]
    ) -> None:
        self._stage = stage
        self.counters = counters
        self.clock = clock
        self.run = run
        self._on_beat = on_beat

    @property
    def name(self) -> str:
        return self._stage.name

    def beat(self) -> None:
        self._stage.last_beat_ms = self.clock.now_ms()
        if self._stage.failing:
            self._on_beat(self._stage)


class _Stage:
    def __init__(
        self, name: str, factory: StageFactory, critical: bool, policy: RestartPolicy, beat_timeout_s: float
    ) -> None:
        self.name = name
        self.factory = factory
        self.critical = critical
        self.policy = policy
        self.beat_timeout_s = beat_timeout_s
        self.state = StageState.PENDING
        self.task: asyncio.Task[None] | None = None
        self.run_started_ms: int | None = None
        self.run_started_wall_ms = 0
        self.last_beat_ms: int | None = None
        self.crash_times_ms: deque[int] = deque()  # wall time
        self.restarts = 0
        self.last_error: str | None = None
        self.failing = False  # escalated, and no beat since

    def status(self, now_ms: int) -> StageStatus:
        since = self.last_beat_ms if self.last_beat_ms is not None else self.run_started_ms
        return StageStatus(
            name=self.name,
            critical=self.critical,
            state=self.state,
            beat_timeout_s=self.beat_timeout_s,
            beat_age_s=None if since is None else max(0, now_ms - since) / 1000,
            beaten=self.last_beat_ms is not None,
            restarts=self.restarts,
            last_error=self.last_error,
            failing=self.failing,
        )


class Supervisor:
    """Runs named stages as tasks, restarts crashed ones under their policy, and stops them all cleanly.

    ``clock`` is the market clock (beats, readiness); ``wall`` (default: ``clock``) times backoff and crash windows."""

    def __init__(
        self,
        clock: Clock,
        *,
        wall: Clock | None = None,
        counters: Counters | None = None,
        on_escalate: EscalationHandler | None = None,
        on_crash: EscalationHandler | None = None,
        on_recover: RecoveryHandler | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.wall = wall if wall is not None else clock
        self._on_recover = on_recover
        self.counters = counters if counters is not None else Counters()
        self._on_escalate = on_escalate
        self._on_crash = on_crash
        self._rng = rng if rng is not None else random.Random()
        self._stages: dict[str, _Stage] = {}
        self._started = False
        self._stopping = False

    def add(
        self,
        name: str,
        factory: StageFactory,
        *,
        critical: bool = True,
        restart: RestartPolicy | None = None,
        beat_timeout_s: float = 60.0,
    ) -> None:
        """Register a stage; ``factory(ctx)`` returns the coroutine of one run. Added after start, it starts now."""
        if name in self._stages:
            raise SupervisorError(f"a stage named {name!r} is already registered; give each stage a unique name")
        if beat_timeout_s <= 0:
            raise ValueError(f"beat_timeout_s must be positive, got {beat_timeout_s}")
        stage = _Stage(name, factory, critical, restart if restart is not None else RestartPolicy(), beat_timeout_s)
        self._stages[name] = stage
        if self._started and not self._stopping:
            self._spawn(stage)

    async def start(self) -> None:
        """Start every registered stage; refuses to start with none, since a bot with no stages trades nothing."""
        if self._started:
            raise SupervisorError("the supervisor is already started")
        if not self._stages:
            raise SupervisorError(
                "no stages registered: the configuration yields nothing to run; check symbols and timeframes"
            )
        self._started = True
        for stage in self._stages.values():
            self._spawn(stage)
        logger.info("supervisor started %d stages: %s", len(self._stages), ", ".join(self._stages))

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel every stage task and wait for them, so no task outlives the supervisor."""
        self._stopping = True
        current = asyncio.current_task()
        tasks = [s.task for s in self._stages.values() if s.task is not None and s.task is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    logger.error("stage task %s ended with an error while stopping", task.get_name())
            for task in pending:
                logger.error("stage task %s did not stop within %.1f s", task.get_name(), timeout_s)
        for stage in self._stages.values():
            stage.state = StageState.STOPPED
        logger.info("supervisor stopped")

    @property
    def stage_names(self) -> list[str]:
        return list(self._stages)

    def statuses(self, now_ms: int) -> list[StageStatus]:
        return [stage.status(now_ms) for stage in self._stages.values()]

    @property
    def failing(self) -> list[str]:
        """Stages that crashed too often and have not beaten since (each still retried)."""
        return [stage.name for stage in self._stages.values() if stage.failing]

    def _spawn(self, stage: _Stage) -> None:
        # Running from now: a readiness check made before the task's first step must not call it pending.
        stage.state, stage.run_started_ms = StageState.RUNNING, self.clock.now_ms()
        stage.task = asyncio.get_running_loop().create_task(self._supervise(stage), name=f"stage:{stage.name}")

    async def _supervise(self, stage: _Stage) -> None:
        run = 0
        while True:
            run += 1
            stage.state = StageState.RUNNING
            stage.run_started_ms = self.clock.now_ms()
            stage.run_started_wall_ms = self.wall.now_ms()
            stage.last_beat_ms = None
            try:
                await stage.factory(StageContext(stage, self.counters, self.clock, run, self._recovered))
                if self._stopping:
                    return
                raise StageExited(f"stage {stage.name!r} returned; a long-running stage must not return")
            except Exception as exc:
                if self._stopping:
                    return
                delay_s = self._crashed(stage, exc)
            stage.state = StageState.FAILED if stage.failing else StageState.BACKING_OFF
            await self.wall.sleep(delay_s)
            stage.restarts += 1

    def _recovered(self, stage: _Stage) -> None:
        stage.failing = False
        logger.warning("stage %s recovered: running and beating again after %d restarts", stage.name, stage.restarts)
        if self._on_recover is not None:
            try:
                self._on_recover(stage.name)
            except Exception:
                logger.exception("recovery callback for stage %s failed", stage.name)

    def _crashed(self, stage: _Stage, exc: Exception) -> float:
        """Log the crash, escalate when it is one too many, and return the backoff before the next restart."""
        now_ms = self.wall.now_ms()
        stage.last_error = f"{type(exc).__name__}: {exc}"
        window_ms = stage.policy.window_s * 1000
        healthy_run = (
            stage.last_beat_ms is not None and now_ms - stage.run_started_wall_ms >= stage.policy.stable_s * 1000
        )
        if healthy_run:
            stage.crash_times_ms.clear()
        stage.crash_times_ms.append(now_ms)
        while stage.crash_times_ms and stage.crash_times_ms[0] < now_ms - window_ms:
            stage.crash_times_ms.popleft()
        crashes = len(stage.crash_times_ms)
        logger.error("stage %s crashed: %s", stage.name, stage.last_error, exc_info=exc)
        _call(self._on_crash, stage.name, exc)
        if crashes > stage.policy.max_restarts and not stage.failing:
            stage.failing = True
            logger.critical(
                "stage %s crashed %d times within %.0f s; escalating, and still restarting it",
                stage.name,
                crashes,
                stage.policy.window_s,
            )
            _call(self._on_escalate, stage.name, exc)
        delay_s = stage.policy.backoff_s(crashes, self._rng)
        logger.warning(
            "stage %s restarts in %.2f s (crash %d within %.0f s; more than %d escalate)",
            stage.name,
            delay_s,
            crashes,
            stage.policy.window_s,
            stage.policy.max_restarts,
        )
        return delay_s


def _call(handler: EscalationHandler | None, name: str, exc: BaseException) -> None:
    """Run a callback without letting its failure take the supervisor down."""
    if handler is None:
        return
    try:
        handler(name, exc)
    except Exception:
        logger.exception("callback %r for stage %s failed", handler, name)
