"""Readiness: the bot is ready only while data flows, its critical stages beat, the venue answers and it has reconciled.

This is the model behind ``/ready`` and ``/health`` detail and the heartbeat log. Each condition is a named check with
an age or a detail, so "not ready" always says why. Freshness rule, per subscribed stream: with ``close = open_time +
timeframe``, the stream is stale when ``now − close > 2 × timeframe`` (a 1m stream whose newest closed candle opened
at 12:00 is fresh until 12:03 and stale after).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ictbot.domain import Timeframe
from ictbot.runtime.counters import StreamKey, stream_name
from ictbot.runtime.supervisor import StageState, Supervisor

logger = logging.getLogger("ictbot.health")

STALE_AFTER_TIMEFRAMES = 2


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness condition; ``age_seconds`` is how old the evidence is (``None`` when there is none). A check
    that is not ``required`` (a non-critical stage) is reported but never makes the bot unready."""

    name: str
    ok: bool
    age_seconds: float | None
    detail: str
    required: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "age_seconds": self.age_seconds,
            "detail": self.detail,
            "required": self.required,
        }


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checked_at_ms: int
    checks: tuple[Check, ...]

    @property
    def failing(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if not check.ok and check.required)

    @property
    def degraded(self) -> tuple[str, ...]:
        """Failing checks that do not stop trading (a crashing API or notifier)."""
        return tuple(check.name for check in self.checks if not check.ok and not check.required)

    def to_dict(self) -> dict[str, object]:
        return {
            "ready": self.ready,
            "checked_at_ms": self.checked_at_ms,
            "degraded": list(self.degraded),
            "checks": [check.to_dict() for check in self.checks],
        }


ReadinessListener = Callable[[Readiness, "Readiness | None"], None]


@dataclass(slots=True)
class _Stream:
    newest_open_ms: int | None = None
    received_at_ms: int | None = None


class Health:
    """Collects the evidence of a working bot and judges readiness from it."""

    def __init__(
        self,
        supervisor: Supervisor,
        streams: Iterable[StreamKey],
        *,
        venue_timeout_s: float = 60.0,
        on_change: ReadinessListener | None = None,
    ) -> None:
        self._supervisor = supervisor
        self._streams: dict[StreamKey, _Stream] = {key: _Stream() for key in streams}
        self._venue_timeout_ms = round(venue_timeout_s * 1000)
        self._venue_ok_ms: int | None = None
        self._venue_error: tuple[int, str] | None = None
        self._reconciled_ms: int | None = None
        self._reconcile_problem = ""
        self._listeners: list[ReadinessListener] = [on_change] if on_change is not None else []
        self._last: Readiness | None = None

    def add_listener(self, listener: ReadinessListener) -> None:
        """Be told of every readiness change (for notifications); a failing listener is logged, never raised."""
        self._listeners.append(listener)

    def mark_candle(self, symbol: str, timeframe: Timeframe, open_time: int, now_ms: int) -> None:
        """Record that a closed candle of a subscribed stream arrived; older or repeated candles change nothing."""
        stream = self._streams.get((symbol, timeframe))
        if stream is None:
            subscribed = ", ".join(stream_name(key) for key in self._streams) or "none"
            raise ValueError(
                f"{symbol}:{timeframe.value} is not a subscribed stream (subscribed: {subscribed}); "
                "subscribe every stream when building Health"
            )
        if stream.newest_open_ms is None or open_time > stream.newest_open_ms:
            stream.newest_open_ms = open_time
            stream.received_at_ms = now_ms

    def mark_venue_ok(self, now_ms: int) -> None:
        """A venue call (REST answer or stream message) succeeded."""
        self._venue_ok_ms = now_ms

    def mark_venue_error(self, now_ms: int, error: str) -> None:
        """A venue call failed; the venue counts as unreachable until a later call succeeds."""
        self._venue_error = (now_ms, error)

    def mark_reconciled(self, now_ms: int) -> None:
        """Startup reconciliation with the venue finished; trading may begin."""
        self._reconciled_ms, self._reconcile_problem = now_ms, ""

    def mark_unreconciled(self, problem: str) -> None:
        """Reconciliation failed or found what the bot cannot account for: not ready until it succeeds."""
        self._reconciled_ms, self._reconcile_problem = None, problem

    def stream_ages(self, now_ms: int) -> dict[StreamKey, float | None]:
        """Seconds since the newest closed candle of each stream closed (``None`` before the first)."""
        ages = {key: _candle_age_ms(key[1], stream, now_ms) for key, stream in self._streams.items()}
        return {key: None if age_ms is None else age_ms / 1000 for key, age_ms in ages.items()}

    def readiness(self, now_ms: int) -> Readiness:
        checks = [*self._stream_checks(now_ms), *self._stage_checks(now_ms), self._venue_check(now_ms)]
        checks.append(self._reconciliation_check(now_ms))
        ready = all(check.ok for check in checks if check.required)
        return Readiness(ready=ready, checked_at_ms=now_ms, checks=tuple(checks))

    def evaluate(self, now_ms: int) -> Readiness:
        """Judge readiness now and report it when the ready flag or the set of failing checks changed."""
        current = self.readiness(now_ms)
        previous = self._last
        self._last = current
        if (
            previous is None
            or previous.ready != current.ready
            or previous.failing != current.failing
            or previous.degraded != current.degraded
        ):
            self._report(current, previous)
        return current

    def _report(self, current: Readiness, previous: Readiness | None) -> None:
        if current.ready:
            if not current.degraded:
                logger.info("ready: every check passes")
        else:
            reasons = "; ".join(f"{c.name}: {c.detail}" for c in current.checks if not c.ok and c.required)
            logger.warning("not ready: %s", reasons)
        if current.degraded:
            reasons = "; ".join(f"{c.name}: {c.detail}" for c in current.checks if not c.ok and not c.required)
            logger.error("degraded (trading goes on): %s", reasons)
        for listener in self._listeners:
            try:
                listener(current, previous)
            except Exception:
                logger.exception("readiness listener %r failed", listener)

    def _stream_checks(self, now_ms: int) -> list[Check]:
        if not self._streams:
            return [Check("streams", False, None, "no subscribed streams: the bot would receive no candles")]
        checks = []
        for key, stream in self._streams.items():
            timeframe = key[1]
            age_ms = _candle_age_ms(timeframe, stream, now_ms)
            limit_ms = STALE_AFTER_TIMEFRAMES * timeframe.ms
            if age_ms is None:
                checks.append(Check(f"stream:{stream_name(key)}", False, None, "no closed candle received yet"))
                continue
            fresh = age_ms <= limit_ms
            detail = f"newest closed candle closed {age_ms / 1000:.0f} s ago (limit {limit_ms / 1000:.0f} s)"
            checks.append(Check(f"stream:{stream_name(key)}", fresh, age_ms / 1000, detail))
        return checks

    def _stage_checks(self, now_ms: int) -> list[Check]:
        statuses = self._supervisor.statuses(now_ms)
        if not statuses:
            return [Check("stages", False, None, "no stages registered: nothing is running")]
        checks = []
        for status in statuses:
            if not status.critical:
                if status.failing:
                    detail = f"keeps crashing, restarted {status.restarts} times; last error: {status.last_error}"
                    checks.append(Check(f"stage:{status.name}", False, status.beat_age_s, detail, required=False))
                continue
            if status.failing:
                detail = f"keeps crashing, restarted {status.restarts} times; last error: {status.last_error}"
            elif status.alive:
                detail = f"running, restarted {status.restarts} times"
            elif status.state is not StageState.RUNNING:
                detail = f"{status.state.value}; last error: {status.last_error or 'none'}"
            elif status.beaten:
                detail = f"stopped beating ({status.beat_age_s:.0f} s > {status.beat_timeout_s:.0f} s)"
            else:
                detail = f"no beat since it started {status.beat_age_s:.0f} s ago (limit {status.beat_timeout_s:.0f} s)"
            ok = status.alive and not status.failing
            checks.append(Check(f"stage:{status.name}", ok, status.beat_age_s, detail))
        return checks

    def _venue_check(self, now_ms: int) -> Check:
        if self._venue_ok_ms is None:
            detail = "no successful venue call yet"
            if self._venue_error is not None:
                detail += f"; last error: {self._venue_error[1]}"
            return Check("venue", False, None, detail)
        age_ms = now_ms - self._venue_ok_ms
        if self._venue_error is not None and self._venue_error[0] >= self._venue_ok_ms:
            return Check("venue", False, age_ms / 1000, f"unreachable: {self._venue_error[1]}")
        if age_ms > self._venue_timeout_ms:
            detail = f"no successful venue call for {age_ms / 1000:.0f} s (limit {self._venue_timeout_ms / 1000:.0f} s)"
            return Check("venue", False, age_ms / 1000, detail)
        return Check("venue", True, age_ms / 1000, "reachable")

    def _reconciliation_check(self, now_ms: int) -> Check:
        if self._reconciled_ms is None:
            return Check("reconciliation", False, None, self._reconcile_problem or "not reconciled with the venue yet")
        return Check("reconciliation", True, (now_ms - self._reconciled_ms) / 1000, "reconciled")


def _candle_age_ms(timeframe: Timeframe, stream: _Stream, now_ms: int) -> int | None:
    if stream.newest_open_ms is None:
        return None
    return now_ms - (stream.newest_open_ms + timeframe.ms)
